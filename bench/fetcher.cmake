# bench_fetch_ingest: bars/s from a local Binance-format HTTP server into the
# market cache, against a raw sqlite3 bulk insert of the same rows.
add_executable(bench_fetch_ingest ${CMAKE_CURRENT_LIST_DIR}/fetch_ingest.cc)
nightshift_target(bench_fetch_ingest)
target_link_libraries(bench_fetch_ingest PRIVATE ns_fetcher PkgConfig::HTTPLIB SQLite::SQLite3)

# bench_dataset_service: requests/s of the dataset service, 1 pool thread vs N.
add_executable(bench_dataset_service ${CMAKE_CURRENT_LIST_DIR}/dataset_service.cc)
nightshift_target(bench_dataset_service)
target_link_libraries(bench_dataset_service PRIVATE ns_fetcher)
