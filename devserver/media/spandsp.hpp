#pragma once

// The parts of spandsp (LGPL-2.1, linked dynamically) the media engine uses, with the headers spandsp's own
// expect before them.

#include <cmath>
#include <cstdint>

#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/plc.h>
