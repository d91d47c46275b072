// The run lock: exclusive, names its holder, released with the last
// descriptor, and inherited by processes started (fork + exec) from the
// holder.
#include "base/file_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <fstream>
#include <string>

namespace nightshift {
namespace {

std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "file-lock-XXXXXX").string();
  return mkdtemp(pattern.data());
}

TEST(FileLock, SecondTryIsBusyAndNamesTheHolder) {
  std::string path = temp_dir() + "/night.db.lock";
  FileLock first = FileLock::try_acquire(path);
  ASSERT_TRUE(first.held()) << first.error();
  FileLock second = FileLock::try_acquire(path);
  EXPECT_EQ(second.state(), FileLock::State::busy);
  EXPECT_EQ(second.holder(), getpid());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(FileLock, ReleasedWhenTheHolderGoes) {
  std::string path = temp_dir() + "/night.db.lock";
  {
    FileLock first = FileLock::try_acquire(path);
    ASSERT_TRUE(first.held());
    FileLock moved = std::move(first);  // still one holder
    EXPECT_EQ(FileLock::try_acquire(path).state(), FileLock::State::busy);
  }
  EXPECT_TRUE(FileLock::try_acquire(path).held());
}

TEST(FileLock, CreatesItsFolder) {
  std::string path = temp_dir() + "/var/deeper/night.db.lock";
  EXPECT_TRUE(FileLock::try_acquire(path).held());
}

TEST(FileLock, AFileThatCannotBeCreatedIsAnErrorNamingIt) {
  std::string dir = temp_dir();
  std::ofstream(dir + "/plain") << "x";
  FileLock lock = FileLock::try_acquire(dir + "/plain/night.db.lock");
  EXPECT_EQ(lock.state(), FileLock::State::failed);
  EXPECT_NE(lock.error().find(dir + "/plain/night.db.lock"), std::string::npos) << lock.error();
}

// What keeps a `resume` out while an orphaned stage of the run lives: a
// program exec'd by the holder keeps the lock after the holder let go.
TEST(FileLock, AnExecdChildKeepsTheLockUntilItExits) {
  std::string path = temp_dir() + "/night.db.lock";
  auto lock = std::make_unique<FileLock>(FileLock::try_acquire(path));
  ASSERT_TRUE(lock->held());
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Until the child has exec'd it holds the descriptor fork gave it anyway;
  // the exec is what this test is about.
  for (int i = 0; i < 500; ++i) {
    std::ifstream cmdline("/proc/" + std::to_string(child) + "/cmdline");
    std::string argv0;
    std::getline(cmdline, argv0, '\0');
    if (argv0 == "sleep") break;
    usleep(10'000);
  }
  lock.reset();  // the parent lets go, as a killed supervisor would
  FileLock while_child_lives = FileLock::try_acquire(path);
  EXPECT_EQ(while_child_lives.state(), FileLock::State::busy);
  EXPECT_EQ(while_child_lives.holder(), getpid());  // the pid the holder wrote
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(FileLock::try_acquire(path).held());
}

}  // namespace
}  // namespace nightshift
