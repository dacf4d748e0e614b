/* Placeholder until issue 4 lands the feature registry. */
#include "featurize.h"
