/* Trusted proxies (lib/web/proxy.h): the list's text form, membership, and
 * the client address read from X-Forwarded-For, as tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"
#include "test_main.h"

static void test_parse_accepts_addresses_and_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t n;
    } cases[] = {
        {NULL, 0},
        {"", 0},
        {" , ", 0},
        {"127.0.0.1", 1},
        {"10.0.0.0/8,192.168.1.7", 2},
        {"10.0.0.0/8, 192.168.1.7 ,fd00::/8", 3},
        {"::1", 1},
        {"0.0.0.0/0", 1},
        {"::/0", 1},
        {"2001:db8::/128", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_proxies_t p;
        char err[256] = "";
        if (http_proxies_parse(cases[i].text, &p, err, sizeof(err)) != OD_OK)
            fail_msg("'%s': %s", cases[i].text ? cases[i].text : "(null)", err);
        assert_int_equal(p.n, cases[i].n);
    }
}

static void test_parse_refuses_what_is_not_an_address(void **state)
{
    (void)state;
    static const struct {
        const char *text, *entry;
    } cases[] = {
        {"localhost", "localhost"},
        {"10.0.0.0/33", "10.0.0.0/33"},
        {"10.0.0.0/", "10.0.0.0/"},
        {"10.0.0.0/-1", "10.0.0.0/-1"},
        {"10.0.0.0/8x", "10.0.0.0/8x"},
        {"fd00::/129", "fd00::/129"},
        {"127.0.0.1;10.0.0.1", "127.0.0.1;10.0.0.1"},
        {"10.0.0.1, 300.1.1.1", "300.1.1.1"},
        {"*", "*"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_proxies_t p;
        char err[256], want[256];
        assert_int_equal(http_proxies_parse(cases[i].text, &p, err, sizeof(err)), OD_ERR_INVALID);
        snprintf(want, sizeof(want),
                 "'%s' is not an IP address or CIDR range (allowed: addresses or ranges "
                 "separated by commas, e.g. 10.0.0.0/8,192.168.1.7,fd00::/8)",
                 cases[i].entry);
        assert_string_equal(err, want);
    }
}

static void test_contains(void **state)
{
    (void)state;
    http_proxies_t p;
    char err[256];
    assert_int_equal(http_proxies_parse("10.0.0.0/8, 192.168.1.7, 172.16.0.0/12, fd00::/8", &p, err,
                                        sizeof(err)),
                     OD_OK);
    static const struct {
        const char *addr;
        bool in;
    } cases[] = {
        {"10.1.2.3", true},
        {"11.0.0.1", false},
        {"192.168.1.7", true},
        {"192.168.1.8", false},
        {"172.31.255.255", true},
        {"172.32.0.0", false},
        {"::ffff:10.9.9.9", true},
        {"fd12::1", true},
        {"fe80::1", false},
        {"not-an-ip", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (http_proxies_contains(&p, cases[i].addr) != cases[i].in)
            fail_msg("%s: want %s", cases[i].addr, cases[i].in ? "in" : "out");
}

static void test_forwarded_client(void **state)
{
    (void)state;
    http_proxies_t p;
    char err[256];
    assert_int_equal(http_proxies_parse("127.0.0.1, 10.0.0.0/8", &p, err, sizeof(err)), OD_OK);
    static const struct {
        const char *peer, *xff, *want;
    } cases[] = {
        /* An untrusted peer's header is ignored: anyone can send it. */
        {"198.51.100.4", "203.0.113.7", "198.51.100.4"},
        /* A trusted peer without the header: itself. */
        {"127.0.0.1", NULL, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", " 203.0.113.7 ", "203.0.113.7"},
        /* The rightmost address that is not a trusted proxy. */
        {"127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", "198.51.100.1, 203.0.113.7, 10.2.3.4", "203.0.113.7"},
        {"10.0.0.5", "2001:db8::7,10.1.1.1", "2001:db8::7"},
        /* Every hop trusted: the leftmost. */
        {"127.0.0.1", "10.1.1.1, 10.2.2.2", "10.1.1.1"},
        /* Garbage ends the walk at the hop to its right. */
        {"127.0.0.1", "203.0.113.7, junk", "127.0.0.1"},
        {"127.0.0.1", "junk, 10.2.2.2", "10.2.2.2"},
        {"127.0.0.1", "203.0.113.7,,10.2.2.2", "10.2.2.2"},
        {"127.0.0.1", "", "127.0.0.1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        http_forwarded_client(&p, cases[i].peer, cases[i].xff, out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("peer %s, X-Forwarded-For '%s': got %s, want %s", cases[i].peer,
                     cases[i].xff ? cases[i].xff : "(none)", out, cases[i].want);
    }
}

OD_TEST_MAIN(NULL, NULL, test_parse_accepts_addresses_and_ranges,
             test_parse_refuses_what_is_not_an_address, test_contains, test_forwarded_client)
