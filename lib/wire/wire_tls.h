/*
 * wire_tls.h — the transport under the wire protocol, for both ends: a
 * connection reads and writes through a plain socket or through an
 * OpenSSL TLS 1.3 session on it (docs/protocol.md section 2.1), without
 * blocking either way.
 *
 * struct wire_tls is a configured context (certificates, or a pre-shared
 * key), made once at start from the daemon's --tls-* options. struct
 * wire_conn is one connection's transport: wire_conn_read/wire_conn_write
 * behave like read()/send(MSG_DONTWAIT|MSG_NOSIGNAL) (-1 with errno EAGAIN
 * when the call must wait), whether TLS is on or not. With TLS, "must wait"
 * may mean waiting for the socket to become writable although a read was
 * asked (or the reverse): conn->want_write says so, and the owner adds
 * LOOP_WRITE to the fd's interest while it is set. No event-loop code here.
 */
#ifndef DOPPEL_WIRE_TLS_H
#define DOPPEL_WIRE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The first byte of a TLS record carrying a handshake (a ClientHello). A
 * doppel frame header and a TCPCopy version message start with 0. */
#define WIRE_TLS_RECORD_HANDSHAKE 0x16
/* The TLS handshake must be done this long after the TCP connection. */
#define WIRE_TLS_HANDSHAKE_MS 10000

/* The options as given (paths; NULL when not given). */
struct wire_tls_options {
	const char *cert;	/* --tls-cert: our certificate chain (PEM) */
	const char *key;	/* --tls-key: its private key (PEM, mode 0600) */
	const char *ca;		/* --tls-ca: CA certificates for the peer's (PEM) */
	const char *psk_file;	/* --tls-psk-file: "IDENTITY:HEX" (mode 0600) */
};

/* Where a daemon's options keep the paths (strings it owns). */
struct wire_tls_paths {
	char *cert, *key, *ca, *psk_file;
};

static inline struct wire_tls_options wire_tls_options_of(const struct wire_tls_paths *p)
{
	return (struct wire_tls_options){ p->cert, p->key, p->ca, p->psk_file };
}

/* --tls-cert, --tls-key, --tls-ca, --tls-psk-file (id 0..3): set the path
 * (the daemons' option tables share this). 0, or -1 with err. */
int wire_tls_paths_set(struct wire_tls_paths *p, int which, const char *value, char *err,
		       size_t errlen);
void wire_tls_paths_free(struct wire_tls_paths *p);

struct wire_tls;

/* Any TLS option given? */
bool wire_tls_options_given(const struct wire_tls_options *o);
/* Check the combination alone (no file read): certificates need all of
 * cert, key and ca; a PSK file excludes them. 0, or -1 with the reason in
 * err. */
int wire_tls_options_check(const struct wire_tls_options *o, char *err, size_t errlen);

/* A context for a server (doppel-intercept) or a client (doppel-copy):
 * files read and checked now (a key or PSK file readable by group or
 * others is refused). NULL with the reason in err; the reason names the
 * file, never its contents. */
struct wire_tls *wire_tls_new(const struct wire_tls_options *o, bool server, char *err,
			      size_t errlen);
void wire_tls_free(struct wire_tls *t);
/* For a daemon's start-up checks: 0 when no TLS option is given or a
 * context can be made from them (then freed), else -1 with err. */
int wire_tls_check(const struct wire_tls_paths *p, bool server, char *err, size_t errlen);
/* "certificates" or "pre-shared key", for log lines. */
const char *wire_tls_mode(const struct wire_tls *t);

struct wire_conn {
	int fd;
	void *ssl;		/* SSL *, NULL for plain text */
	bool handshake_done;	/* always true for plain text */
	bool want_write;	/* the last call that must wait needs the socket writable */
	char error[256];	/* why the last TLS call failed (errno EPROTO) */
};

/* Plain text on fd. */
void wire_conn_plain(struct wire_conn *c, int fd);
/* TLS on fd, handshake not started. For a client, peer_host is the
 * address or name the certificate must name (certificate mode). 0, or -1
 * with the reason in err (c is then plain on fd). */
int wire_conn_tls(struct wire_conn *c, struct wire_tls *t, int fd, const char *peer_host,
		  char *err, size_t errlen);
/* Free the TLS session (not the fd); c is then plain. */
void wire_conn_free(struct wire_conn *c);

/* Drive the handshake: 1 done, 0 to be called again when the socket is
 * readable (or writable if c->want_write), -1 failed (the reason, with
 * OpenSSL's and the certificate check's, in c->error). */
int wire_conn_handshake(struct wire_conn *c);

/* Like read(): n > 0 bytes, 0 the peer closed, -1 with errno (EAGAIN:
 * wait; EPROTO: a TLS error, c->error says which). */
ssize_t wire_conn_read(struct wire_conn *c, void *buf, size_t len);
/* Like send(MSG_DONTWAIT | MSG_NOSIGNAL). With TLS, a call that returned
 * -1/EAGAIN must be repeated with at least the same bytes (the buffer may
 * have moved). */
ssize_t wire_conn_write(struct wire_conn *c, const void *buf, size_t len);
/* Decrypted bytes waiting inside the TLS session: the socket will not
 * say it is readable for them, so a reader must not stop while true. */
bool wire_conn_pending(const struct wire_conn *c);
/* strerror(err), or c->error for EPROTO after a TLS error. */
const char *wire_conn_strerror(const struct wire_conn *c, int err);

#endif
