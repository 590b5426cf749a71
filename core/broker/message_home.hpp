// Messages go back to the worker that made them to be freed there.
//
// Why: a client's message is allocated on its publisher's worker (the Message, its control
// block, its topic and payload) and its last reference often dies on another worker: the
// subscriber's, once the delivery went out (QoS 0) or its PUBACK came (QoS 1). glibc frees a
// chunk into the arena it came from, under that arena's lock, so both workers took the lock
// of the publisher's arena for every message: malloc/free were ~20 % of a two-worker broker's
// time in pairs N=50 QoS 1 across workers. A message made by make_homed_message() is instead
// parked, on the worker where it dies, in a list for its home worker (no lock), and the list is
// handed over in batches (one lock per batch); the home frees them on its own thread.
//
// Thread rules:
//   make_homed_message()  any thread; on a worker's thread (worker_thread.hpp) the message's
//                         home is that worker, elsewhere it is a plain std::make_shared.
//   the last reference    any thread. On the home's thread, or a thread with no worker, the
//                         message is freed at once; on another worker it is parked in that
//                         thread's own list. A list that reaches kFlushCount messages or
//                         kFlushBytes of payload is handed over at once.
//   flush_returns()       a worker hands every list it parked to the homes (Broker::receive,
//                         at the end of a batch, and Broker::tick).
//   drain_home()          a worker frees what others handed back to it (Broker::flush_outbox,
//                         Broker::receive, Broker::tick, so within a tick of being handed).
// The homes are process-wide and never destroyed, so a message that outlives its Server (or
// a worker's thread) has a home to go to; drain_all_homes() frees what is left in them. What a
// thread parked and never handed over is freed when the thread ends.
#pragma once
#include <memory>

#include "broker/message.hpp"

namespace roost::message_home {

std::shared_ptr<Message> make_homed_message();
void flush_returns();
void drain_home();
// Any thread, once the workers stopped (the Router's end): frees what every home holds and
// what the calling thread parked.
void drain_all_homes();

}  // namespace roost::message_home
