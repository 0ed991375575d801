/*
 * A worker's room: the connections it holds while no request of theirs
 * runs, and the loop that serves them (room.c).  Plain C.
 * SPDX-License-Identifier: MIT
 */
#ifndef ROOM_H
#define ROOM_H

#include "server.h"

bool	 room_run(const struct srv_options *);

#endif /* ROOM_H */
