// A rerun's plan (`nightshift rerun`, SchedulerOptions::rerun_of): the
// stored run's configuration planned afresh, then pinned to what the stored
// run did, so the two can be compared trial by trial:
//  - every job asks for exactly the bars its stored result used (start_ts /
//    end_ts from the stored first and last bar), not "the last N days";
//  - a TPE trial past the startup ones takes its stored params: TPE suggests
//    from the trials finished so far, and with several workers the order in
//    which they finish is a matter of timing, so the suggestions themselves
//    are not reproducible; random, grid and TPE startup params are planned
//    from the seed and are compared, not copied;
//  - a job the stored run has no result for (skipped by a budget, failed)
//    is skipped, so the rerun runs the same set of jobs.
#pragma once

#include <string>
#include <vector>

#include "schema/job_messages.h"
#include "schema/results_store.h"

namespace nightshift::scheduler {

Status pin_to_stored_run(std::vector<JobState>& plan, ResultsStore& store,
                         const std::string& stored_run);

}  // namespace nightshift::scheduler
