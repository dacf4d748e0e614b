/* Placeholder until issue 4 lands the model loader. */
#include "model.h"
