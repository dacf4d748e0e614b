/* skipctl predict: placeholder until the issue that builds it lands. */
#include <stdio.h>

#include "cli.h"

int
cmd_predict(int argc, char **argv)
{
    sk_errorf("predict", "not available yet in this build");
    return SK_EXIT_USAGE;
}
