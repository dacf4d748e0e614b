/* skipctl abreport: placeholder until the issue that builds it lands. */
#include <stdio.h>

#include "cli.h"

int
cmd_abreport(int argc, char **argv)
{
    sk_errorf("abreport", "not available yet in this build");
    return SK_EXIT_USAGE;
}
