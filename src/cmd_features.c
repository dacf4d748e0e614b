/* skipctl features: placeholder until the issue that builds it lands. */
#include <stdio.h>

#include "cli.h"

int
cmd_features(int argc, char **argv)
{
    sk_errorf("features", "not available yet in this build");
    return SK_EXIT_USAGE;
}
