// SPDX-License-Identifier: GPL-2.0
/* The pod sandbox's process for the runtime tests: waits for a signal, exits 0. */
#include <signal.h>
#include <unistd.h>

static void done(int sig)
{
	_exit(0);
}

int main(void)
{
	signal(SIGTERM, done);
	signal(SIGINT, done);
	for (;;)
		pause();
}
