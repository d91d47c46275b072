// Entry points of the Level Zero loader >= 1.10 (zes_api.h 1.10) that the
// packaged 1.8 header lacks: Sysman initialised on its own, with its own
// driver and device enumeration. zes_init_flags_t is a uint32_t.
#pragma once

#include <level_zero/zes_api.h>

extern "C" {
ze_result_t zesInit(uint32_t flags);
ze_result_t zesDriverGet(uint32_t* pCount, zes_driver_handle_t* phDrivers);
ze_result_t zesDeviceGet(zes_driver_handle_t hDriver, uint32_t* pCount,
                         zes_device_handle_t* phDevices);
}
