#!/usr/bin/env bash
# The test suite, as `make test` (and so CI) runs it, after `make venv` has set up .venv/.
#
#   bash scripts/test.sh [PYTEST ARGS...]
#
# * Where the ROS 2 fixtures of this project's machines exist (../shared/ros2, or
#   ROS2_FIXTURES=DIR), it installs ROS 2 Jazzy (and Humble, if present) into /opt/ros with
#   their Python dependencies in .venv/, runs the whole suite in a sourced Jazzy environment,
#   then the rclpy and launch tests again in a sourced Humble environment.
# * Elsewhere, with a ROS 2 environment already sourced (ROS_DISTRO set), the suite runs in it.
# * Otherwise it runs without ROS 2, and the ROS tests skip, each with its reason.
# In a sourced ROS 2 environment no ROS test may skip: test/conftest.py stops the run when
# rclpy does not import, and the workspace fixture fails when colcon is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py=$root/.venv/bin/python
fixtures=${ROS2_FIXTURES:-$root/../shared/ros2}
# test/ros (rclpy in the test process) runs in a pytest process of its own: see test/conftest.py.
# The Humble pass: the rclpy node and the launch file, each file in a pytest process of its own:
# on Humble an in-process node that was destroyed can linger in the graph with an empty name,
# and then every `ros2 param`/`ros2 lifecycle` graph query of a later test fails ("empty node
# name returned by the RMW layer"). (Humble's ros2 bag is exercised from the Jazzy pass, which
# runs it in a Humble-sourced child process: test_rosbag2_interop.py.)
humble_tests=(test/ros/test_ros_launch.py test/ros/test_ros_node.py)

# shellcheck disable=SC1091
source "$root/.venv/bin/activate"

in_ros() {  # in_ros DISTRO PYTEST-ARGS...: pytest in a subshell with that ROS 2 sourced
  local distro=$1
  shift
  (
    set +u  # setup.bash reads unset variables
    # shellcheck disable=SC1090
    source "/opt/ros/$distro/setup.bash"
    set -u
    echo "== pytest on ROS 2 $ROS_DISTRO: $*"
    "$py" -m pytest "$@"
  )
}

if [ -f "$fixtures/install.sh" ]; then
  bash "$fixtures/install.sh"
  if [ -f "$fixtures/humble/install.sh" ]; then
    bash "$fixtures/humble/install.sh"
  fi
  status=0
  # -rs lists every skip with its reason; the ROS passes name each test (-v); --durations
  # lists the slowest tests (the suite should stay well under 15 minutes).
  in_ros jazzy -q -rs --durations=15 "$@" test || status=$?
  in_ros jazzy -v -rs --durations=10 "$@" test/ros || status=$?
  if [ -f /opt/ros/humble/setup.bash ]; then
    for t in "${humble_tests[@]}"; do
      in_ros humble -v -rs "$@" "$t" || status=$?
    done
  fi
  exit $status
fi

if [ -n "${ROS_DISTRO:-}" ]; then
  echo "== pytest on the sourced ROS 2 $ROS_DISTRO"
else
  echo "== pytest without ROS 2 (no ROS 2 environment sourced: its tests skip)"
fi
status=0
"$py" -m pytest -q -rs --durations=15 "$@" test || status=$?
"$py" -m pytest -q -rs --durations=10 "$@" test/ros || status=$?
exit $status
