/* skipctl simulate: placeholder until the issue that builds it lands. */
#include <stdio.h>

#include "cli.h"

int
cmd_simulate(int argc, char **argv)
{
    sk_errorf("simulate", "not available yet in this build");
    return SK_EXIT_USAGE;
}
