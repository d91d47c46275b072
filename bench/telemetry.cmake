# bench_telemetry_overhead: CPU cost of a telemetry sample and of the running
# stage at 10 Hz, each against a naive peer measured in the same run.
add_executable(bench_telemetry_overhead ${CMAKE_CURRENT_LIST_DIR}/telemetry_overhead.cc)
nightshift_target(bench_telemetry_overhead)
target_link_libraries(bench_telemetry_overhead PRIVATE ns_telemetry ns_test_support)
add_dependencies(bench_telemetry_overhead nightshift)
