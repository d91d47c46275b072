# bench/replay: replay --max-speed vs a raw sqlite3 read and vs the bus's own
# ceiling; export's peak RSS; persister commit latency during prune.
add_executable(bench_replay ${CMAKE_CURRENT_LIST_DIR}/replay.cc)
nightshift_target(bench_replay)
target_link_libraries(bench_replay PRIVATE ns_persister ns_bus SQLite::SQLite3)
add_dependencies(bench_replay nightshift)
target_compile_definitions(bench_replay PRIVATE NIGHTSHIFT_BINARY="$<TARGET_FILE:nightshift>")
