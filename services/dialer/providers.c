/*
 * providers.c — the table of providers (provider.h): the one place that
 * names each of them, apart from what they share (provider.c).
 */
#include <string.h>

#include "provider.h"

const provider_ops_t *provider_find(const char *name)
{
    static const provider_ops_t *const all[] = {&provider_vapi, NULL};
    for (size_t i = 0; name && all[i]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
