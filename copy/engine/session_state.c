/*
 * session_state.c — the transition table of the emulated client's TCP.
 */
#include "copy/engine/session_state.h"

enum session_state session_state_next(enum session_state s, enum session_event ev)
{
	if (ev == EVENT_END)
		return STATE_CLOSED;
	switch (s) {
	case STATE_SYN_SENT:
		return ev == EVENT_SYN_ACK ? STATE_ESTABLISHED : s;
	case STATE_ESTABLISHED:
		if (ev == EVENT_FIN_SENT)
			return STATE_FIN_WAIT_1;
		return ev == EVENT_TARGET_FIN ? STATE_CLOSE_WAIT : s;
	case STATE_FIN_WAIT_1:
		if (ev == EVENT_FIN_ACKED)
			return STATE_FIN_WAIT_2;
		return ev == EVENT_TARGET_FIN ? STATE_CLOSING : s;
	case STATE_FIN_WAIT_2:
		return ev == EVENT_TARGET_FIN ? STATE_TIME_WAIT : s;
	case STATE_CLOSING:
		return ev == EVENT_FIN_ACKED ? STATE_TIME_WAIT : s;
	case STATE_TIME_WAIT:
		return ev == EVENT_LINGER_DONE ? STATE_CLOSED : s;
	case STATE_CLOSE_WAIT:
		return ev == EVENT_FIN_SENT ? STATE_LAST_ACK : s;
	case STATE_LAST_ACK:
		/* The target is the one left in TIME_WAIT: nothing to linger for. */
		return ev == EVENT_FIN_ACKED ? STATE_CLOSED : s;
	case STATE_CLOSED:
		return s;
	}
	return s;
}

const char *session_state_name(enum session_state s)
{
	static const char *const names[] = {
		[STATE_SYN_SENT] = "SYN_SENT",
		[STATE_ESTABLISHED] = "ESTABLISHED",
		[STATE_FIN_WAIT_1] = "FIN_WAIT_1",
		[STATE_FIN_WAIT_2] = "FIN_WAIT_2",
		[STATE_CLOSING] = "CLOSING",
		[STATE_TIME_WAIT] = "TIME_WAIT",
		[STATE_CLOSE_WAIT] = "CLOSE_WAIT",
		[STATE_LAST_ACK] = "LAST_ACK",
		[STATE_CLOSED] = "CLOSED",
	};

	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "?";
}
