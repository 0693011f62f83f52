// SPDX-License-Identifier: MIT
/*
 * stateful_goroutines — "share memory by communicating": one goroutine
 * owns the state, and the others send it commands on a channel, with a
 * channel in the command for the reply.
 *
 *     type Command struct {
 *         action string
 *         resp   chan int
 *     }
 *     func counterActor(cmds chan Command) {
 *         count := 0 // private state, only accessible inside this goroutine
 *         for cmd := range cmds { ... }
 *     }
 *
 * No lock anywhere: commands are served one at a time, in the order
 * they arrive.  The second part is the seed's bank account.
 */
#include <ringo.h>
#include <stdio.h>

/* C has no collector: main frees the command channels once the actors
 * have left their loops. */
static rg_waitgroup_t actors;

enum action { INCREMENT, GET, DEPOSIT, WITHDRAW, BALANCE };

typedef struct {
	enum action action;
	int amount;
	rg_chan_t *resp; /* chan int, for GET and BALANCE */
} command_t;

static void counter_actor(void *arg)
{
	rg_chan_t *cmds = arg;
	int count = 0; /* private state */
	command_t cmd;

	RG_RANGE(cmds, cmd) {
		switch (cmd.action) {
		case INCREMENT:
			count++;
			break;
		case GET:
			rg_chan_send(cmd.resp, &count);
			break;
		default:
			break;
		}
	}
	rg_wg_done(&actors);
}

struct account {
	int balance;
	rg_chan_t *txns;
};

static void account(void *arg)
{
	struct account *a = arg;
	int balance = a->balance; /* from here on only this goroutine has it */
	command_t t;

	RG_RANGE(a->txns, t) {
		switch (t.action) {
		case DEPOSIT:
			balance += t.amount;
			break;
		case WITHDRAW:
			if (balance >= t.amount)
				balance -= t.amount;
			break;
		case BALANCE:
			rg_chan_send(t.resp, &balance);
			break;
		default:
			break;
		}
	}
	rg_wg_done(&actors);
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *cmds = RG_CHAN(command_t, 0);
	rg_chan_t *resp = RG_CHAN(int, 0);
	int v;

	rg_wg_add(&actors, 2);
	rg_go(counter_actor, cmds); /* start the stateful goroutine */
	for (int i = 0; i < 5; i++)
		rg_chan_send(cmds, &(command_t){.action = INCREMENT});
	rg_chan_send(cmds, &(command_t){.action = GET, .resp = resp});
	rg_chan_recv(resp, &v);
	printf("Counter Value: %d\n", v);

	struct account acct = {1000, RG_CHAN(command_t, 0)};
	rg_go(account, &acct);
	rg_chan_send(acct.txns, &(command_t){.action = DEPOSIT, .amount = 200});
	rg_chan_send(acct.txns, &(command_t){.action = WITHDRAW, .amount = 500});
	rg_chan_send(acct.txns, &(command_t){.action = WITHDRAW, .amount = 5000}); /* refused */
	rg_chan_send(acct.txns, &(command_t){.action = BALANCE, .resp = resp});
	rg_chan_recv(resp, &v);
	printf("Current Balance: %d\n", v);

	/* Closing the command channels ends the actors' loops. */
	rg_chan_close(cmds);
	rg_chan_close(acct.txns);
	rg_wg_wait(&actors);
	rg_chan_free(cmds);
	rg_chan_free(acct.txns);
	rg_chan_free(resp);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
