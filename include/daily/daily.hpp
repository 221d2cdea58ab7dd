#pragma once

/// The umbrella header: everything a user of libdaily needs.
#include <daily/audio.hpp>
#include <daily/call_client.hpp>
#include <daily/error.hpp>
#include <daily/event.hpp>
#include <daily/options.hpp>
#include <daily/rest_client.hpp>
#include <daily/sip_uri.hpp>
#include <daily/version.hpp>
#include <daily/webhook.hpp>
