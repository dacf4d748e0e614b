/* skipctl gen: placeholder until the issue that builds it lands. */
#include <stdio.h>

#include "cli.h"

int
cmd_gen(int argc, char **argv)
{
    sk_errorf("gen", "not available yet in this build");
    return SK_EXIT_USAGE;
}

int
cmd_stats(int argc, char **argv)
{
    sk_errorf("stats", "not available yet in this build");
    return SK_EXIT_USAGE;
}
