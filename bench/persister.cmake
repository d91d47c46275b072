# bench/persister: rows/s through the persister vs a raw sqlite3 bulk insert.
add_executable(bench_persister ${CMAKE_CURRENT_LIST_DIR}/persister.cc)
nightshift_target(bench_persister)
target_link_libraries(bench_persister PRIVATE ns_persister ns_bus SQLite::SQLite3)
