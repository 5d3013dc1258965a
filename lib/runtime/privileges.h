/*
 * privileges.h — becoming an unprivileged user (--user) once the sockets
 * that need root are open, while keeping the two capabilities a daemon
 * still uses at run time: CAP_NET_RAW (raw and packet sockets reopened,
 * pcap) and CAP_NET_ADMIN (netlink configuration, rules).
 */
#ifndef DOPPEL_PRIVILEGES_H
#define DOPPEL_PRIVILEGES_H

#include <stddef.h>

/* Switch to user's uid, gid and supplementary groups (as login and
 * systemd's User= would give them) with only CAP_NET_ADMIN and CAP_NET_RAW
 * permitted and effective; a drop that root could undo is refused. 0, or
 * -1 with err filled; never logs. */
int privileges_drop(const char *user, char *err, size_t errlen);

#endif
