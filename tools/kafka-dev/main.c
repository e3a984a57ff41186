/*
 * outdial-kafka-dev — a local Kafka cluster for development and tests.
 *
 * Runs librdkafka's mock cluster (N brokers on 127.0.0.1, random ports)
 * with every topic of lib/bus/topics created with its partition count and the
 * OUTDIAL_KAFKA_TOPIC_PREFIX prefix. Any Kafka client in any process can
 * use it: metadata (kcat -L), idempotent producers, consumer groups with
 * offset commits and rebalancing.
 *
 *   outdial-kafka-dev [--brokers N] [--bootstrap-file PATH] [--control PATH]
 *                     [--debug]
 *
 * Once every broker answers metadata with every topic, the bootstrap list
 * ("127.0.0.1:PORT,...") is printed on stdout and, atomically, written to
 * --bootstrap-file. It runs until SIGTERM or SIGINT, then removes the
 * bootstrap file and the control FIFO it made.
 *
 * Control FIFO (--control PATH, made with mkfifo unless it exists): one
 * command per line; each is answered by a JSON log line on stderr (event
 * "control", level info when done, warn when refused):
 *
 *   down BROKER                      broker stops accepting connections and
 *                                    drops the ones it has; its partitions
 *                                    keep it as leader (no failover: they
 *                                    are unavailable until "up" or "leader")
 *   up BROKER                        broker accepts connections again
 *   leader TOPIC PARTITION BROKER    moves a partition's leadership
 *                                    (BROKER -1: no leader)
 *   coordinator group KEY BROKER     makes BROKER the coordinator of consumer
 *                                    group KEY ("transaction KEY" for a
 *                                    transactional id); otherwise the mock
 *                                    picks one by hashing KEY
 *   rtt BROKER MS                    delays every response of the broker
 *
 * BROKER is 1..N, or "all" for every broker. TOPIC is the full name.
 * Partition p of the i-th topic of lib/bus/topics is led by broker
 * (p + i) % N + 1 at start.
 *
 * Limits of the mock (librdkafka 2.0.2): one copy of the data whatever the
 * replication factor; no leader or coordinator failover when a broker is
 * down (a group whose coordinator is down stalls until it is up again, or
 * until "coordinator" moves it); a member that dies without leaving is
 * evicted after its session.timeout.ms (checked every second), and the
 * group then rebalances after a further session.timeout.ms - 1 s; offset
 * commits while a group rebalances fail with REBALANCE_IN_PROGRESS
 * (librdkafka logs COMMITFAIL), so offsets stored since the last
 * auto-commit of a revoked partition are lost and its next owner sees those
 * messages again (at-least-once holds); no Admin API (CreateTopics): other
 * topics are made by clients' auto-creation, with 4 partitions.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "clock.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "topics.h"
#include "xmalloc.h"

#define DEV_BROKERS_DEFAULT 3
#define DEV_BROKERS_MAX     32
/* Kafka's usual replication factor; the mock keeps one copy of the data
 * whatever it says, but clients see realistic replica lists. */
#define DEV_REPLICATION_MAX 3
#define DEV_COMMANDS                                                                               \
    "down B | up B | leader TOPIC P B | coordinator group|transaction KEY B | rtt B MS"
/* A control line longer than this is refused (commands are short). */
#define DEV_LINE_MAX 512
/* How long the cluster may take to answer metadata before start-up fails:
 * listeners are local, so a few seconds means something is broken. */
#define DEV_READY_TIMEOUT_MS 15000

typedef struct kdev_opts {
    int brokers;
    const char *bootstrap_file;
    const char *control;
    bool debug;
} kdev_opts_t;

typedef struct kdev {
    kdev_opts_t opts;
    const char *prefix; /* OUTDIAL_KAFKA_TOPIC_PREFIX, checked */
    rd_kafka_t *rk;     /* the handle the mock cluster lives on */
    rd_kafka_mock_cluster_t *mcluster;
    int control_fd;
    bool control_made; /* we made the FIFO, so we remove it */
    bool bootstrap_written;
    char line[DEV_LINE_MAX + 1];
    size_t line_len;
    bool line_too_long;
    sigset_t stop_set; /* SIGTERM, SIGINT: blocked except inside ppoll */
} kdev_t;

static volatile sig_atomic_t dev_stop_signal;

static void dev_on_signal(int sig)
{
    dev_stop_signal = sig;
}

/* Takes a pending SIGTERM/SIGINT while they are blocked (during start-up,
 * which waits in librdkafka calls rather than in ppoll). */
static bool dev_stop_pending(kdev_t *dev)
{
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(&dev->stop_set, NULL, &zero);
    if (sig > 0)
        dev_stop_signal = sig;
    return dev_stop_signal != 0;
}

static void dev_usage(FILE *out)
{
    fprintf(out,
            "usage: outdial-kafka-dev [--brokers N] [--bootstrap-file PATH] [--control PATH] "
            "[--debug]\n"
            "  --brokers N            brokers in the mock cluster (1..%d, default %d)\n"
            "  --bootstrap-file PATH  write the bootstrap list here once the cluster is ready\n"
            "  --control PATH         FIFO for commands: " DEV_COMMANDS "\n"
            "  --debug                log librdkafka's mock broker debug lines\n"
            "Topics get the prefix of OUTDIAL_KAFKA_TOPIC_PREFIX (default \"%s\").\n",
            DEV_BROKERS_MAX, DEV_BROKERS_DEFAULT, TOPIC_PREFIX_DEFAULT);
}

/* A whole decimal number in [min, max]. */
static int dev_parse_int(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return OD_ERR_INVALID;
    *out = v;
    return OD_OK;
}

static int dev_opts_parse(int argc, char **argv, kdev_opts_t *opts, char *errbuf, size_t errlen)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'}, {"bootstrap-file", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, 'c'}, {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    opts->brokers = DEV_BROKERS_DEFAULT;
    int ch;
    long n;
    while ((ch = getopt_long(argc, argv, "b:f:c:dh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            if (dev_parse_int(optarg, 1, DEV_BROKERS_MAX, &n))
                return od_fail(errbuf, errlen, OD_ERR_INVALID,
                               "--brokers: '%s' is not a number in 1..%d", optarg, DEV_BROKERS_MAX);
            opts->brokers = (int)n;
            break;
        case 'f':
            opts->bootstrap_file = optarg;
            break;
        case 'c':
            opts->control = optarg;
            break;
        case 'd':
            opts->debug = true;
            break;
        case 'h':
            dev_usage(stdout);
            exit(0);
        default:
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "bad arguments (see --help)");
        }
    }
    if (optind < argc)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "unexpected argument '%s'", argv[optind]);
    return OD_OK;
}

static void dev_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* The hosting handle has no bootstrap.servers on purpose. */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
        return;
    log_level_t lvl = level <= 3   ? LOG_LEVEL_ERROR
                      : level == 4 ? LOG_LEVEL_WARN
                      : level <= 6 ? LOG_LEVEL_INFO
                                   : LOG_LEVEL_DEBUG;
    log_write(lvl, "mock", "%s: %s", fac, buf);
}

/* Creates the mock cluster and every lib/bus/topics topic. */
static int dev_cluster_start(kdev_t *dev, char *errbuf, size_t errlen)
{
    char why[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, dev_log_cb);
    if (dev->opts.debug && rd_kafka_conf_set(conf, "debug", "mock", why, sizeof(why))) {
        rd_kafka_conf_destroy(conf);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "debug: %s", why);
    }
    /* The handle only hosts the cluster; it never connects anywhere. */
    dev->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!dev->rk) {
        rd_kafka_conf_destroy(conf);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "rd_kafka_new: %s", why);
    }
    conf = NULL; /* now owned by rk */
    dev->mcluster = rd_kafka_mock_cluster_new(dev->rk, dev->opts.brokers);
    if (!dev->mcluster)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "mock cluster with %d brokers failed",
                       dev->opts.brokers);

    int rc = OD_OK;
    int replication =
        dev->opts.brokers < DEV_REPLICATION_MAX ? dev->opts.brokers : DEV_REPLICATION_MAX;
    for (int id = 0; id < TOPIC_COUNT; id++) {
        const topic_def_t *def = topic_def_get((topic_id_t)id);
        char name[TOPIC_NAME_MAX + 1];
        rc = topic_name_build(dev->prefix, def->id, name, sizeof(name), errbuf, errlen);
        if (rc)
            return rc;
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(dev->mcluster, name, def->partitions, replication);
        if (err)
            return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "create topic %s: %s", name,
                           rd_kafka_err2str(err));
        /* Leaders round-robin (the mock's own choice is random and may put
         * every partition of a topic on one broker), shifted per topic, so
         * "down B" always takes about 1/N of every topic's partitions. */
        for (int partition = 0; partition < def->partitions; partition++) {
            int32_t leader = (int32_t)((partition + id) % dev->opts.brokers) + 1;
            err = rd_kafka_mock_partition_set_leader(dev->mcluster, name, partition, leader);
            if (err)
                return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "leader of %s [%d]: %s", name,
                               partition, rd_kafka_err2str(err));
        }
    }
    return OD_OK;
}

/* Returns OD_OK once a separate client sees every broker and every topic
 * with its partitions through the listeners, as other processes will. */
static int dev_cluster_check(kdev_t *dev, const char *bootstraps, char *errbuf, size_t errlen)
{
    char why[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, dev_log_cb);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, why, sizeof(why))) {
        rd_kafka_conf_destroy(conf);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "bootstrap.servers: %s", why);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "rd_kafka_new: %s", why);
    }
    conf = NULL; /* now owned by rk */
    int rc = OD_OK;
    int64_t deadline = od_clock_real_us() + DEV_READY_TIMEOUT_MS * 1000LL;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 2000);
        rc = OD_OK;
        if (err) {
            rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "metadata: %s", rd_kafka_err2str(err));
        } else if (md->broker_cnt != dev->opts.brokers) {
            rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "metadata lists %d of %d brokers",
                         md->broker_cnt, dev->opts.brokers);
        } else {
            for (int id = 0; id < TOPIC_COUNT && !rc; id++) {
                const topic_def_t *def = topic_def_get((topic_id_t)id);
                char name[TOPIC_NAME_MAX + 1];
                rc = topic_name_build(dev->prefix, def->id, name, sizeof(name), errbuf, errlen);
                if (rc)
                    break;
                int found = -1;
                for (int t = 0; t < md->topic_cnt; t++) {
                    if (strcmp(md->topics[t].topic, name) == 0 && !md->topics[t].err)
                        found = md->topics[t].partition_cnt;
                }
                if (found != def->partitions)
                    rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                                 "topic %s has %d partitions in metadata, want %d", name, found,
                                 def->partitions);
            }
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (!rc || od_clock_real_us() > deadline || dev_stop_pending(dev))
            break;
        usleep(100 * 1000);
    }
    rd_kafka_destroy(rk);
    return rc;
}

static int dev_control_open(kdev_t *dev, char *errbuf, size_t errlen)
{
    const char *path = dev->opts.control;
    if (mkfifo(path, 0600) == 0) {
        dev->control_made = true;
    } else {
        struct stat st;
        if (errno != EEXIST || stat(path, &st) != 0 || !S_ISFIFO(st.st_mode))
            return od_fail(errbuf, errlen, OD_ERR_IO, "control FIFO %s: %s", path,
                           errno == EEXIST ? "exists and is not a FIFO" : strerror(errno));
    }
    /* Read-write, so the FIFO never reports end-of-file when a writer
     * (echo down 2 > FIFO) closes: we stay its reader until we exit. */
    dev->control_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (dev->control_fd < 0)
        return od_fail(errbuf, errlen, OD_ERR_IO, "open %s: %s", path, strerror(errno));
    return OD_OK;
}

/* BROKER as in the commands: 1..N or "all" (-1 for librdkafka). */
static int dev_broker_parse(const kdev_t *dev, const char *s, int32_t *out)
{
    long n;
    if (strcmp(s, "all") == 0) {
        *out = -1;
        return OD_OK;
    }
    if (dev_parse_int(s, 1, dev->opts.brokers, &n))
        return OD_ERR_INVALID;
    *out = (int32_t)n;
    return OD_OK;
}

/* Logs what became of a command the mock cluster ran, naming its words as
 * given ("done: leader t 0 2"). */
static void dev_command_report(rd_kafka_resp_err_t err, int argc, char **argv)
{
    char words[DEV_LINE_MAX + 1] = "";
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof(words); i++)
        used += (size_t)snprintf(words + used, sizeof(words) - used, "%s%s", i ? " " : "", argv[i]);
    if (err)
        log_warn("control", "failed: %s: %s", words, rd_kafka_err2str(err));
    else
        log_info("control", "done: %s", words);
}

/* Runs one control command; the answer is a log line. */
static void dev_command_run(kdev_t *dev, char *line)
{
    char *argv[5];
    int argc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == 5) {
            log_warn("control", "refused: too many words (commands: " DEV_COMMANDS ")");
            return;
        }
        argv[argc++] = tok;
    }
    if (argc == 0)
        return;
    const char *cmd = argv[0];
    int32_t broker = 0;
    long n = 0;
    rd_kafka_resp_err_t err;
    if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && argc == 2) {
        if (dev_broker_parse(dev, argv[1], &broker)) {
            log_warn("control", "refused: %s %s: broker must be 1..%d or all", cmd, argv[1],
                     dev->opts.brokers);
            return;
        }
        err = strcmp(cmd, "down") == 0 ? rd_kafka_mock_broker_set_down(dev->mcluster, broker)
                                       : rd_kafka_mock_broker_set_up(dev->mcluster, broker);
        dev_command_report(err, argc, argv);
    } else if (strcmp(cmd, "leader") == 0 && argc == 4) {
        long partition;
        if (dev_parse_int(argv[2], 0, INT32_MAX, &partition) ||
            (strcmp(argv[3], "-1") != 0 && dev_broker_parse(dev, argv[3], &broker)) ||
            strcmp(argv[3], "all") == 0) {
            log_warn("control",
                     "refused: leader %s %s %s: want PARTITION >= 0 and BROKER 1..%d "
                     "or -1",
                     argv[1], argv[2], argv[3], dev->opts.brokers);
            return;
        }
        if (strcmp(argv[3], "-1") == 0)
            broker = -1;
        err =
            rd_kafka_mock_partition_set_leader(dev->mcluster, argv[1], (int32_t)partition, broker);
        dev_command_report(err, argc, argv);
    } else if (strcmp(cmd, "coordinator") == 0 && argc == 4) {
        if ((strcmp(argv[1], "group") != 0 && strcmp(argv[1], "transaction") != 0) ||
            strcmp(argv[3], "all") == 0 || dev_broker_parse(dev, argv[3], &broker)) {
            log_warn("control",
                     "refused: coordinator %s %s %s: want group|transaction KEY BROKER 1..%d",
                     argv[1], argv[2], argv[3], dev->opts.brokers);
            return;
        }
        err = rd_kafka_mock_coordinator_set(dev->mcluster, argv[1], argv[2], broker);
        dev_command_report(err, argc, argv);
    } else if (strcmp(cmd, "rtt") == 0 && argc == 3) {
        if (dev_broker_parse(dev, argv[1], &broker) || dev_parse_int(argv[2], 0, 600000, &n)) {
            log_warn("control", "refused: rtt %s %s: want BROKER 1..%d or all, MS 0..600000",
                     argv[1], argv[2], dev->opts.brokers);
            return;
        }
        err = rd_kafka_mock_broker_set_rtt(dev->mcluster, broker, (int)n);
        dev_command_report(err, argc, argv);
    } else {
        log_warn("control",
                 "refused: unknown command or wrong arguments: '%s' (commands: " DEV_COMMANDS ")",
                 cmd);
    }
}

/* Reads what the FIFO has and runs every complete line. */
static void dev_control_read(kdev_t *dev)
{
    char buf[1024];
    for (;;) {
        ssize_t n = read(dev->control_fd, buf, sizeof(buf));
        if (n <= 0)
            return; /* EAGAIN: drained (O_RDWR never gives EOF) */
        for (ssize_t i = 0; i < n; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                if (dev->line_too_long) {
                    log_warn("control", "refused: line longer than %d bytes", DEV_LINE_MAX);
                } else {
                    dev->line[dev->line_len] = '\0';
                    dev_command_run(dev, dev->line);
                }
                dev->line_len = 0;
                dev->line_too_long = false;
            } else if (dev->line_len < DEV_LINE_MAX) {
                dev->line[dev->line_len++] = ch;
            } else {
                dev->line_too_long = true;
            }
        }
    }
}

static void dev_stop(kdev_t *dev)
{
    if (dev->control_fd >= 0)
        close(dev->control_fd);
    if (dev->control_made)
        unlink(dev->opts.control);
    /* A stale list would point clients at ports nobody listens on. */
    if (dev->bootstrap_written)
        unlink(dev->opts.bootstrap_file);
    if (dev->mcluster)
        rd_kafka_mock_cluster_destroy(dev->mcluster);
    if (dev->rk)
        rd_kafka_destroy(dev->rk);
}

int main(int argc, char **argv)
{
    char err[512];
    kdev_t dev = {.control_fd = -1};
    int status = 1;
    if (log_init("kafka-dev", err, sizeof(err))) {
        fprintf(stderr, "outdial-kafka-dev: %s\n", err);
        return 2;
    }
    if (dev_opts_parse(argc, argv, &dev.opts, err, sizeof(err))) {
        fprintf(stderr, "outdial-kafka-dev: %s\n", err);
        dev_usage(stderr);
        return 2;
    }
    if (topic_prefix_from_env(&dev.prefix, err, sizeof(err))) {
        fprintf(stderr, "outdial-kafka-dev: %s\n", err);
        return 2;
    }

    /* SIGTERM/SIGINT are blocked everywhere (librdkafka's threads inherit
     * the mask) and delivered only inside ppoll below, so the stop flag is
     * never missed between a check and a wait. */
    sigset_t wait_mask;
    sigemptyset(&dev.stop_set);
    sigaddset(&dev.stop_set, SIGTERM);
    sigaddset(&dev.stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &dev.stop_set, &wait_mask);
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGINT);
    struct sigaction sa = {.sa_handler = dev_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (dev_cluster_start(&dev, err, sizeof(err))) {
        log_error("start", "%s", err);
        goto out;
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(dev.mcluster);
    if (dev.opts.control && dev_control_open(&dev, err, sizeof(err))) {
        log_error("start", "%s", err);
        goto out;
    }
    int rc = dev_cluster_check(&dev, bootstraps, err, sizeof(err));
    if (dev_stop_pending(&dev)) {
        status = 0;
        goto out;
    }
    if (rc) {
        log_error("start", "cluster not ready after %d ms: %s", DEV_READY_TIMEOUT_MS, err);
        goto out;
    }
    if (dev.opts.bootstrap_file) {
        /* Written whole: a reader sees either no file or the whole list. */
        if (od_file_write_atomic(dev.opts.bootstrap_file, err, sizeof(err), "%s\n", bootstraps)) {
            log_error("start", "%s", err);
            goto out;
        }
        dev.bootstrap_written = true;
    }
    printf("%s\n", bootstraps);
    fflush(stdout);
    log_info("ready", "%d broker(s) at %s, topics %s* (%d), control %s", dev.opts.brokers,
             bootstraps, dev.prefix, TOPIC_COUNT, dev.opts.control ? dev.opts.control : "none");

    while (!dev_stop_signal) {
        struct pollfd pfd = {.fd = dev.control_fd, .events = POLLIN};
        int n = ppoll(&pfd, 1, NULL, &wait_mask); /* fd -1 (no FIFO) is ignored */
        if (n < 0 && errno != EINTR) {
            log_error("control", "poll: %s", strerror(errno));
            goto out;
        }
        if (n > 0 && (pfd.revents & POLLIN))
            dev_control_read(&dev);
    }
    log_info("stop", "signal %d, shutting down", (int)dev_stop_signal);
    status = 0;
out:
    dev_stop(&dev);
    return status;
}
