/*
 * dlist.h — intrusive doubly linked lists.
 *
 * A list is a head pointer; a node holds its own prev and next pointers,
 * named by the caller so that a node can sit on several lists (a job's
 * wprev/wnext). Both operations are O(1); the caller owns the nodes and
 * any lock. Arguments are evaluated more than once: pass plain lvalues.
 */
#ifndef OUTDIAL_DLIST_H
#define OUTDIAL_DLIST_H

#include <stddef.h>

/* Puts node first on the list at head. */
#define DLIST_PUSH(head, node, prev, next)                                                         \
    do {                                                                                           \
        (node)->prev = NULL;                                                                       \
        (node)->next = (head);                                                                     \
        if (head)                                                                                  \
            (head)->prev = (node);                                                                 \
        (head) = (node);                                                                           \
    } while (0)

/* Takes node, which is on the list at head, out of it; node's own
 * pointers are left as they were. */
#define DLIST_REMOVE(head, node, prev, next)                                                       \
    do {                                                                                           \
        if ((node)->prev)                                                                          \
            (node)->prev->next = (node)->next;                                                     \
        else                                                                                       \
            (head) = (node)->next;                                                                 \
        if ((node)->next)                                                                          \
            (node)->next->prev = (node)->prev;                                                     \
    } while (0)

#endif
