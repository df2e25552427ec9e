/*
 * net/local — the local channel: administration requests from the host
 * to the running server, over a Unix socket in the data folder
 * (DATA/admin.sock, mode 0600), so that `renkei-server user disable ...`
 * beside a running server takes effect at once and is recorded by the
 * server (api/admin.c; docs/accounts.md "Administration").
 *
 * Framing: each way, one message = a 4-byte big-endian length and that
 * many bytes of one renkei.v1 Envelope (an administration request; the
 * answer is an AdminResponse or an Error). One request per connection.
 *
 * The input is hostile: only a peer whose SO_PEERCRED uid is root or the
 * server's own is served (anyone else is answered PERMISSION_DENIED and
 * closed); a request longer than LOCAL_MAX_BYTES is refused unread; the
 * whole request must arrive within LOCAL_READ_MS; one connection is
 * served at a time (others wait in the listen backlog).
 *
 * Threads: the socket is served by a thread of its own, which never
 * touches api/: it hands the bytes to the service thread (wake(), then
 * local_service() there) and waits for the answer. The service thread
 * never waits on the socket.
 */
#ifndef RK_NET_LOCAL_H
#define RK_NET_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

#define LOCAL_SOCKET "admin.sock"
#define LOCAL_MAX_BYTES 65536
#define LOCAL_READ_MS 5000    /* a request, from accept to its last byte */
#define LOCAL_ANSWER_MS 30000 /* the server's answer (argon2, a busy writer) */

struct local;

/* Listen on DATA/admin.sock and start the thread. Refuses (NULL, with a
 * reason) if another process answers on that socket or the path is not
 * a socket; a stale socket (no one listening) is replaced. wake(arg) is
 * called from the thread when local_service has work. */
struct local *local_new(const char *data_dir, void (*wake)(void *arg),
                        void *wake_arg, char *err, size_t errlen);

/* Service thread (on every wake): hand what the thread received to api. */
void local_service(struct local *l, struct api *api);

/* Stop serving: no new request is taken, the thread ends, the socket is
 * removed. An answer still on its way is dropped when it comes. NULL is
 * fine. */
void local_stop(struct local *l);

/* Free it, after local_stop and once api can answer nothing more (after
 * store_close). NULL is fine. */
void local_free(struct local *l);

/* The client side (renkei-server's commands): send one request to the
 * server on DATA/admin.sock and read its answer (*resp malloc'ed, the
 * caller frees it). 0: answered; 1: no server listens there (run
 * offline); -1: failed, with a reason in err. */
int local_call(const char *data_dir, const uint8_t *req, size_t len,
               uint8_t **resp, size_t *resp_len, char *err, size_t errlen);

#endif
