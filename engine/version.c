#include "wavetensor/wavetensor.h"

const char *wt_version(void) { return WT_VERSION_STRING; }
