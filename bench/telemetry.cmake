# bench_telemetry_overhead: CPU per sample of the running telemetry stage at
# 10 Hz (a subscriber attached, then none) and of its sampler alone, each
# against the psutil sampler users ran before, measured in the same run.
add_executable(bench_telemetry_overhead ${CMAKE_CURRENT_LIST_DIR}/telemetry_overhead.cc)
nightshift_target(bench_telemetry_overhead)
target_link_libraries(bench_telemetry_overhead PRIVATE ns_telemetry ns_bus ns_test_support)
target_compile_definitions(bench_telemetry_overhead PRIVATE
  TELEMETRY_PEER_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/telemetry_overhead_peer.py")
add_dependencies(bench_telemetry_overhead nightshift)
