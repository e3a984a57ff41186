/* dlist: the intrusive list the HTTP server, the dialer and the voice
 * simulator keep their connections, calls, jobs and transfers on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dlist.h"
#include "test_main.h"

typedef struct node {
    int id;
    struct node *prev, *next;   /* one list */
    struct node *wprev, *wnext; /* another, at the same time */
} node_t;

/* The ids on the list from head, as digits ("" when empty), checking each
 * node's back pointer on the way. */
static const char *ids(const node_t *head)
{
    static char out[16];
    size_t n = 0;
    const node_t *prev = NULL;
    for (const node_t *x = head; x && n < sizeof(out) - 1; x = x->next) {
        assert_ptr_equal(x->prev, prev);
        out[n++] = (char)('0' + x->id);
        prev = x;
    }
    out[n] = '\0';
    return out;
}

static void test_push_and_remove_anywhere(void **state)
{
    (void)state;
    node_t nodes[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
    node_t *head = NULL;
    for (int i = 0; i < 4; i++)
        DLIST_PUSH(head, &nodes[i], prev, next);
    assert_string_equal(ids(head), "3210");
    DLIST_REMOVE(head, &nodes[2], prev, next); /* middle */
    assert_string_equal(ids(head), "310");
    DLIST_REMOVE(head, &nodes[3], prev, next); /* first */
    assert_string_equal(ids(head), "10");
    DLIST_REMOVE(head, &nodes[0], prev, next); /* last */
    assert_string_equal(ids(head), "1");
    DLIST_REMOVE(head, &nodes[1], prev, next); /* only */
    assert_null(head);
    DLIST_PUSH(head, &nodes[2], prev, next); /* a removed node goes back */
    assert_string_equal(ids(head), "2");
}

static void test_a_node_on_two_lists(void **state)
{
    (void)state;
    node_t a = {.id = 1}, b = {.id = 2};
    node_t *all = NULL, *waiting = NULL;
    DLIST_PUSH(all, &a, prev, next);
    DLIST_PUSH(all, &b, prev, next);
    DLIST_PUSH(waiting, &a, wprev, wnext);
    DLIST_REMOVE(all, &a, prev, next);
    assert_string_equal(ids(all), "2");
    assert_ptr_equal(waiting, &a);
    assert_null(a.wnext);
    assert_null(a.wprev);
}

OD_TEST_MAIN(NULL, NULL, test_push_and_remove_anywhere, test_a_node_on_two_lists)
