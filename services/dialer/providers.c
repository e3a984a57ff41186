/*
 * providers.c — the table of providers (provider.h): the one place that
 * names each of them, apart from what they share (provider.c).
 */
#include <string.h>

#include "provider.h"

const provider_ops_t *const provider_all[] = {&provider_vapi, &provider_retell, NULL};

const provider_ops_t *provider_find(const char *name)
{
    for (size_t i = 0; name && provider_all[i]; i++)
        if (strcmp(provider_all[i]->name, name) == 0)
            return provider_all[i];
    return NULL;
}
