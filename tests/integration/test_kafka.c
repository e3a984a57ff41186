/*
 * Kafka wrappers against the stack's cluster (OUTDIAL_KAFKA_BROKERS):
 * 10,000 messages from the idempotent producer, consumed by a group of two
 * consumers in separate processes. One member is SIGKILLed half-way, after
 * it processed messages it had not yet stored; the test asserts that every
 * message was processed at least once, that exactly the processed-but-not-
 * stored messages of the dead member are delivered again to the survivor
 * (offsets are stored only after processing), and that the messages it did
 * store are not.
 *
 * The consumers are forked before this process creates any librdkafka
 * handle (librdkafka's threads do not survive fork). Each reports what it
 * does on its own pipe as fixed-size records.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child_fork.h"
#include "clock.h"
#include "kafka.h"
#include "support.h"
#include "test_main.h"
#include "topics.h"

#define MSG_COUNT 10000
/* The victim stores VICTIM_STORED messages, then processes VICTIM_UNSTORED
 * more without storing them, waits for auto-commit and gets killed. Each
 * member owns about half the partitions, i.e. ~5000 messages. */
#define VICTIM_STORED   1000
#define VICTIM_UNSTORED 100
/* Consumer timings: a short session so the dead member is evicted in
 * seconds, and frequent auto-commits so the victim's stored offsets are
 * surely committed during its VICTIM_COMMIT_WAIT_MS pause. */
#define SESSION_TIMEOUT_MS    "4000"
#define HEARTBEAT_MS          "500"
#define AUTO_COMMIT_MS        "200"
#define VICTIM_COMMIT_WAIT_MS 1500
/* The whole test must end well inside a minute. */
#define TEST_DEADLINE_MS 55000

enum rec_kind {
    REC_ASSIGNED = 'a',  /* value: partitions now assigned */
    REC_PROCESSED = 'p', /* value: message id, about to be stored */
    REC_UNSTORED = 'n',  /* value: message id, processed, never stored */
    REC_READY = 'r',     /* victim: done, kill me */
};

typedef struct rec {
    int32_t kind;
    int32_t value;
} rec_t;

typedef struct member {
    pid_t pid;
    int rec_fd;  /* parent reads records */
    int stop_fd; /* parent closes it to stop the member (-1 for the victim) */
    int assigned;
    long processed;
} member_t;

static char topic[TOPIC_NAME_MAX + 1];
static char group[128];

static void rec_send(int fd, int kind, int value)
{
    rec_t r = {kind, value};
    /* 8 bytes < PIPE_BUF: atomic. */
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
        perror("member: write record");
        exit(3);
    }
}

static int msg_id(const rd_kafka_message_t *msg)
{
    char buf[16];
    if (!msg->payload || msg->len == 0 || msg->len >= sizeof(buf))
        return -1;
    memcpy(buf, msg->payload, msg->len);
    buf[msg->len] = '\0';
    char *end = NULL;
    long id = strtol(buf, &end, 10);
    return (*end || id < 0 || id >= MSG_COUNT) ? -1 : (int)id;
}

/* The body of a group member process. The victim processes and stores
 * VICTIM_STORED messages, processes VICTIM_UNSTORED more without storing,
 * lets auto-commit run, reports REC_READY and waits to be killed. The
 * survivor processes and stores everything until stop_fd reaches EOF,
 * then closes (commit + leave) and exits. */
static void member_run(bool victim, int rec_fd, int stop_fd)
{
    char err[512];
    const kafka_prop_t props[] = {
        {"session.timeout.ms", SESSION_TIMEOUT_MS},
        {"heartbeat.interval.ms", HEARTBEAT_MS},
        {"auto.commit.interval.ms", AUTO_COMMIT_MS},
        /* The test topic is created by the first member's metadata
         * request (the mock has no CreateTopics). */
        {"allow.auto.create.topics", "true"},
        {"topic.metadata.refresh.interval.ms", "1000"},
    };
    kafka_consumer_opts_t opts = {
        .group_id = group,
        .client_id = victim ? "test-kafka-victim" : "test-kafka-survivor",
        .props = props,
        .prop_cnt = sizeof(props) / sizeof(props[0]),
    };
    kafka_consumer_t *c = NULL;
    if (kafka_consumer_new(&opts, &c, err, sizeof(err))) {
        fprintf(stderr, "member: %s\n", err);
        exit(2);
    }
    const char *topics[] = {topic};
    if (kafka_consumer_subscribe(c, topics, 1, err, sizeof(err))) {
        fprintf(stderr, "member: %s\n", err);
        exit(2);
    }
    if (stop_fd >= 0)
        fcntl(stop_fd, F_SETFL, O_NONBLOCK);
    int assigned = 0;
    long processed = 0;
    for (;;) {
        int now = kafka_consumer_assigned(c);
        if (now != assigned) {
            assigned = now;
            rec_send(rec_fd, REC_ASSIGNED, assigned);
        }
        if (stop_fd >= 0) {
            char ch;
            if (read(stop_fd, &ch, 1) == 0)
                break; /* parent closed: stop */
        }
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(c, 100, &msg, err, sizeof(err))) {
            fprintf(stderr, "member: %s\n", err);
            exit(2);
        }
        if (!msg)
            continue;
        int id = msg_id(msg);
        if (id < 0) {
            fprintf(stderr, "member: message %.*s is not a test message\n", (int)msg->len,
                    (const char *)msg->payload);
            exit(2);
        }
        const void *ctype = NULL;
        size_t ctype_len = 0;
        if (kafka_message_header_get(msg, "content-type", &ctype, &ctype_len) || ctype_len != 10 ||
            memcmp(ctype, "text/plain", 10) != 0) {
            fprintf(stderr, "member: message %d lacks its content-type header\n", id);
            exit(2);
        }
        if (victim && processed >= VICTIM_STORED) {
            /* Processed, but the process dies before storing. */
            rec_send(rec_fd, REC_UNSTORED, id);
            kafka_message_free(msg);
            if (++processed == VICTIM_STORED + VICTIM_UNSTORED) {
                usleep(VICTIM_COMMIT_WAIT_MS * 1000);
                rec_send(rec_fd, REC_READY, 0);
                for (;;)
                    pause(); /* SIGKILL comes */
            }
            continue;
        }
        /* "Processing" is reporting the id; only then is it stored. */
        rec_send(rec_fd, REC_PROCESSED, id);
        processed++;
        int rc = kafka_consumer_store(c, msg, err, sizeof(err));
        if (rc && rc != OD_ERR_CONFLICT) {
            fprintf(stderr, "member: %s\n", err);
            exit(2);
        }
        kafka_message_free(msg);
    }
    int rc = kafka_consumer_close(c, err, sizeof(err));
    if (rc)
        fprintf(stderr, "member: %s\n", err);
    kafka_consumer_free(c);
    exit(rc ? 2 : 0);
}

static member_t member_fork(bool victim)
{
    int rec[2], stop[2] = {-1, -1};
    if (pipe(rec) != 0 || (!victim && pipe(stop) != 0))
        fail_msg("pipe: %s", strerror(errno));
    /* A member must not outlive a test that failed half-way. */
    pid_t pid = child_fork_tied();
    if (pid == 0) {
        close(rec[0]);
        if (stop[1] >= 0)
            close(stop[1]);
        member_run(victim, rec[1], stop[0]);
    }
    close(rec[1]);
    if (stop[0] >= 0)
        close(stop[0]);
    fcntl(rec[0], F_SETFL, O_NONBLOCK);
    return (member_t){.pid = pid, .rec_fd = rec[0], .stop_fd = stop[1]};
}

/* Per message id, who processed it and how. */
typedef struct seen {
    uint8_t victim_stored;
    uint8_t victim_unstored;
    uint16_t survivor_before_kill;
    uint16_t survivor_after_kill;
} seen_t;

typedef struct run {
    member_t victim, survivor;
    seen_t *seen;
    bool killed;
    bool victim_ready;
    int union_cnt;
    int survivor_assigned_before_kill;
    int64_t killed_us;   /* when the victim was killed */
    int64_t takeover_us; /* first message the survivor processed after that */
    int64_t last_rec_us; /* last message record from either member */
} run_t;

/* The running test, for the teardown to kill members a failure left. */
static run_t *current_run;

static int teardown(void **state)
{
    (void)state;
    run_t *run = current_run;
    if (!run)
        return 0;
    pid_t pids[2] = {run->killed ? 0 : run->victim.pid, run->survivor.pid};
    for (int i = 0; i < 2; i++) {
        if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    }
    close(run->victim.rec_fd);
    close(run->survivor.rec_fd);
    free(run->seen);
    current_run = NULL;
    return 0;
}

static void run_count(run_t *run, int id)
{
    seen_t *s = &run->seen[id];
    if (!s->victim_stored && !s->victim_unstored && !s->survivor_before_kill &&
        !s->survivor_after_kill)
        run->union_cnt++;
}

/* Reads every record available from one member. */
static void run_drain(run_t *run, member_t *m)
{
    bool is_victim = m == &run->victim;
    rec_t r;
    for (;;) {
        ssize_t n = read(m->rec_fd, &r, sizeof(r));
        if (n <= 0)
            return;
        assert_int_equal(n, sizeof(r));
        if (r.kind == REC_ASSIGNED) {
            m->assigned = r.value;
            continue;
        }
        if (r.kind == REC_READY) {
            assert_true(is_victim);
            run->victim_ready = true;
            continue;
        }
        assert_true(r.value >= 0 && r.value < MSG_COUNT);
        run_count(run, r.value);
        m->processed++;
        run->last_rec_us = od_clock_real_us();
        seen_t *s = &run->seen[r.value];
        if (is_victim && r.kind == REC_UNSTORED)
            s->victim_unstored = 1;
        else if (is_victim)
            s->victim_stored = 1;
        else if (run->killed) {
            s->survivor_after_kill++;
            if (!run->takeover_us)
                run->takeover_us = od_clock_real_us();
        } else
            s->survivor_before_kill++;
    }
}

/* Waits up to wait_ms for records from either member and reads them. */
static void run_pump(run_t *run, int wait_ms)
{
    struct pollfd pfd[2] = {
        {.fd = run->killed ? -1 : run->victim.rec_fd, .events = POLLIN},
        {.fd = run->survivor.rec_fd, .events = POLLIN},
    };
    if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
        fail_msg("poll: %s", strerror(errno));
    if (!run->killed)
        run_drain(run, &run->victim);
    run_drain(run, &run->survivor);
}

/* Done when the survivor has processed every redelivered message, or when
 * it owns every partition and went quiet (then the asserts say what is
 * missing, without waiting for the deadline). */
static bool run_done(const run_t *run, int partitions)
{
    /* Far longer than the gap between two fetched batches. */
    const int64_t quiet_us = 3 * OD_USEC_PER_SEC;
    if (!run->killed || run->union_cnt < MSG_COUNT)
        return false;
    if (run->survivor.assigned == partitions && od_clock_real_us() - run->last_rec_us > quiet_us)
        return true;
    for (int id = 0; id < MSG_COUNT; id++) {
        if (run->seen[id].victim_unstored && !run->seen[id].survivor_after_kill)
            return false;
    }
    return true;
}

static void test_group_redelivers_unstored_after_member_dies(void **state)
{
    (void)state;
    support_env(KAFKA_BROKERS_ENV);
    int64_t start = od_clock_real_us();
    int64_t deadline = start + TEST_DEADLINE_MS * 1000LL;
    const char *prefix = NULL;
    char err[512];
    assert_int_equal(topic_prefix_from_env(&prefix, err, sizeof(err)), OD_OK);
    snprintf(topic, sizeof(topic), "%stest-kafka-%d-%lld", prefix, (int)getpid(),
             (long long)(start / 1000));
    snprintf(group, sizeof(group), "outdial-test-kafka-%d-%lld", (int)getpid(),
             (long long)(start / 1000));

    /* Members first: no librdkafka handle exists in this process yet. */
    static run_t run;
    run = (run_t){.seen = calloc(MSG_COUNT, sizeof(seen_t))};
    assert_non_null(run.seen);
    current_run = &run;
    run.victim = member_fork(true);
    run.survivor = member_fork(false);

    /* Produce only once both members own partitions, so each gets about
     * half of the messages and the victim surely reaches its quota. */
    while (run.victim.assigned <= 0 || run.survivor.assigned <= 0) {
        if (od_clock_real_us() > deadline)
            fail_msg("members not both assigned in time (victim %d, survivor %d partitions)",
                     run.victim.assigned, run.survivor.assigned);
        run_pump(&run, 200);
    }
    int partitions = run.victim.assigned + run.survivor.assigned;

    kafka_producer_t *p = NULL;
    assert_int_equal(kafka_producer_new(NULL, &p, err, sizeof(err)), OD_OK);
    for (int id = 0; id < MSG_COUNT; id++) {
        char key[32], payload[16];
        int keylen = snprintf(key, sizeof(key), "lead-%d", id);
        int len = snprintf(payload, sizeof(payload), "%d", id);
        kafka_header_t hdr = {"content-type", "text/plain", 10};
        int rc = kafka_producer_send(p, topic, key, (size_t)keylen, payload, (size_t)len, &hdr, 1,
                                     NULL, err, sizeof(err));
        if (rc)
            fail_msg("send %d: %s", id, err);
    }
    if (kafka_producer_flush(p, 20000, err, sizeof(err)))
        fail_msg("flush: %s", err);
    uint64_t delivered = 0, failed = 0;
    kafka_producer_counts(p, &delivered, &failed);
    assert_int_equal(delivered, MSG_COUNT);
    assert_int_equal(failed, 0);
    kafka_producer_free(p);

    /* Kill the victim once it says so; wait for the survivor to take over. */
    while (!run_done(&run, partitions)) {
        if (od_clock_real_us() > deadline)
            break;
        run_pump(&run, 200);
        if (run.victim_ready && !run.killed) {
            run_drain(&run, &run.survivor); /* what it did before the kill */
            run.survivor_assigned_before_kill = run.survivor.assigned;
            assert_int_equal(kill(run.victim.pid, SIGKILL), 0);
            int status = 0;
            assert_int_equal(waitpid(run.victim.pid, &status, 0), run.victim.pid);
            assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
            run.killed = true;
            run.killed_us = od_clock_real_us();
        }
    }
    double secs = (double)(od_clock_real_us() - start) / 1e6;

    /* Stop the survivor: it commits, leaves the group and exits 0. */
    close(run.survivor.stop_fd);
    int status = -1;
    for (int waited = 0; waited < 15000; waited += 50) {
        run_pump(&run, 0);
        if (waitpid(run.survivor.pid, &status, WNOHANG) == run.survivor.pid)
            break;
        usleep(50 * 1000);
    }
    /* A survivor that did not exit is killed by the teardown. */

    int unstored = 0, redelivered = 0, stored_again = 0;
    for (int id = 0; id < MSG_COUNT; id++) {
        const seen_t *s = &run.seen[id];
        unstored += s->victim_unstored;
        redelivered += s->victim_unstored && s->survivor_after_kill;
        stored_again += s->victim_stored && s->survivor_after_kill;
    }
    fprintf(stderr,
            "kafka: %d partitions, victim processed %ld (%d unstored), survivor %ld "
            "(assigned %d before kill, %d after); %d of %d ids; %d unstored redelivered, %d "
            "stored redelivered; takeover %.1f s after the kill; %.1f s in all\n",
            partitions, run.victim.processed, unstored, run.survivor.processed,
            run.survivor_assigned_before_kill, run.survivor.assigned, run.union_cnt, MSG_COUNT,
            redelivered, stored_again,
            run.takeover_us ? (double)(run.takeover_us - run.killed_us) / 1e6 : -1.0, secs);

    assert_true(run.killed);
    assert_int_equal(status, 0); /* survivor closed cleanly */
    /* At least once: every message was processed by someone. */
    assert_int_equal(run.union_cnt, MSG_COUNT);
    /* The victim's processed-but-unstored messages went to the survivor. */
    assert_int_equal(unstored, VICTIM_UNSTORED);
    assert_int_equal(redelivered, VICTIM_UNSTORED);
    /* Stored (and auto-committed) offsets were honoured: nothing the
     * victim stored was processed again. */
    assert_int_equal(stored_again, 0);
    /* The survivor took over the dead member's partitions. */
    assert_int_equal(run.survivor.assigned, partitions);
    assert_true(run.survivor_assigned_before_kill < partitions);
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, teardown, test_group_redelivers_unstored_after_member_dies)
