/* skipctl train: placeholder until the issue that builds it lands. */
#include <stdio.h>

#include "cli.h"

int
cmd_train(int argc, char **argv)
{
    sk_errorf("train", "not available yet in this build");
    return SK_EXIT_USAGE;
}

int
cmd_eval(int argc, char **argv)
{
    sk_errorf("eval", "not available yet in this build");
    return SK_EXIT_USAGE;
}
