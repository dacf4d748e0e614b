/* skipctl report: placeholder until the issue that builds it lands. */
#include <stdio.h>

#include "cli.h"

int
cmd_report(int argc, char **argv)
{
    sk_errorf("report", "not available yet in this build");
    return SK_EXIT_USAGE;
}
