/*
 * session_state.h — the emulated client's TCP state and its one transition
 * function.
 *
 * The states are RFC 793's for the side that opened the connection (the
 * replayed client); CLOSED is where a session goes once it has ended, for
 * whatever reason, and waits to be freed. Every state change in the engine
 * goes through session_state_next(), so the whole machine reads in one
 * place; the side effects of entering a state (arming the linger, ending the
 * session) are the caller's, in session_transition() (session_lifecycle.c).
 */
#ifndef DOPPEL_SESSION_STATE_H
#define DOPPEL_SESSION_STATE_H

#include <stdbool.h>

enum session_state {
	STATE_SYN_SENT,		/* our SYN is out, waiting for the target's SYN-ACK */
	STATE_ESTABLISHED,	/* replaying data both ways */
	STATE_FIN_WAIT_1,	/* we sent the client's FIN, not acknowledged yet */
	STATE_FIN_WAIT_2,	/* our FIN acknowledged, the target has not closed */
	STATE_CLOSING,		/* both FINs sent, ours not acknowledged yet */
	STATE_TIME_WAIT,	/* both FINs done, we acked the target's last: linger */
	STATE_CLOSE_WAIT,	/* the target closed first; the client's FIN not yet sent */
	STATE_LAST_ACK,		/* the target closed first, our FIN sent, not acknowledged */
	STATE_CLOSED,		/* ended; freed at the end of the engine call */
};

enum session_event {
	EVENT_SYN_ACK,		/* the target's acceptable SYN-ACK arrived */
	EVENT_FIN_SENT,		/* we sent the client's FIN */
	EVENT_FIN_ACKED,	/* the target acknowledged our FIN */
	EVENT_TARGET_FIN,	/* the target's FIN arrived (first time) */
	EVENT_LINGER_DONE,	/* the TIME_WAIT linger ran out */
	EVENT_END,		/* the session ends, any reason */
};

/* The state after ev in state s; s itself when ev does not apply there. */
enum session_state session_state_next(enum session_state s, enum session_event ev);

const char *session_state_name(enum session_state s);

/* Whether the client's data and FIN may still be sent in s. */
static inline bool session_state_can_send_data(enum session_state s)
{
	return s == STATE_ESTABLISHED || s == STATE_CLOSE_WAIT;
}

/* Whether the target knows of our FIN (it was sent) in s. */
static inline bool session_state_fin_sent(enum session_state s)
{
	return s == STATE_FIN_WAIT_1 || s == STATE_FIN_WAIT_2 || s == STATE_CLOSING ||
	       s == STATE_TIME_WAIT || s == STATE_LAST_ACK;
}

#endif
