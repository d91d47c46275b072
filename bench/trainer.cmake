# bench/trainer_vs_sklearn: purged 5-fold CV of L2 logistic regression in
# nightshift vs scikit-learn (lbfgs) on the same features, in one run; folds
# warm-started on both sides, then cold on both; one thread each, same core.
add_executable(bench_trainer_vs_sklearn ${CMAKE_CURRENT_LIST_DIR}/trainer_vs_sklearn.cc)
nightshift_target(bench_trainer_vs_sklearn)
target_compile_options(bench_trainer_vs_sklearn PRIVATE -O3)
target_link_libraries(bench_trainer_vs_sklearn PRIVATE ns_trainer ns_fetcher)
target_compile_definitions(bench_trainer_vs_sklearn PRIVATE
  TRAINER_PEER_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/trainer_vs_sklearn_peer.py")

# bench/false_promotions: null promotion rate, p-value calibration and power
# of the promotion rules over many synthetic nights (not a speed benchmark;
# the naive p-value is the peer printed beside the calibrated one).
add_executable(bench_false_promotions ${CMAKE_CURRENT_LIST_DIR}/false_promotions.cc)
nightshift_target(bench_false_promotions)
target_compile_options(bench_false_promotions PRIVATE -O3)
target_link_libraries(bench_false_promotions PRIVATE ns_trainer ns_fetcher ns_base)

# hpo_study_data: bench/hpo_vs_optuna's helper (not a bench itself): writes
# the features, labels, folds and holdout of each study of a stored night,
# so the Optuna side trains on exactly the rows nightshift trained on.
add_executable(hpo_study_data ${CMAKE_CURRENT_LIST_DIR}/hpo_study_data.cc)
nightshift_target(hpo_study_data)
target_link_libraries(hpo_study_data PRIVATE ns_trainer ns_fetcher ns_schema)

# xgb is not promoted more often than logistic regression on random walks:
# both families on the same null nights (seeds 9001-), a one-sided check on
# the promoted and gate-passing counts (bench/false_promotions.cc).
add_test(NAME false_promotions_xgb_test
         COMMAND bench_false_promotions --model both --nights 2 --power-nights 0 --symbols 4
                 --trials 2 --threads 2 --check-xgb-not-above)
set_tests_properties(false_promotions_xgb_test PROPERTIES TIMEOUT 300)
