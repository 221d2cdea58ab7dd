#pragma once

/// DAILY_API marks the symbols libdaily exports; everything else is hidden (CXX_VISIBILITY_PRESET hidden).
#if defined(DAILY_SHARED)
#  if defined(DAILY_BUILDING_LIBRARY)
#    define DAILY_API __attribute__((visibility("default")))
#  else
#    define DAILY_API
#  endif
#else
#  define DAILY_API __attribute__((visibility("default")))
#endif
