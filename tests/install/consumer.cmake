# The out-of-tree consumer's CMake project; run.sh copies it to a scratch
# directory as CMakeLists.txt.  It must find rcgc only in the given prefix.
cmake_minimum_required(VERSION 3.25)
project(rcgc_consumer LANGUAGES C)
# run.sh passes the installed header's major.minor.
find_package(rcgc ${RCGC_WANTED} REQUIRED CONFIG NO_CMAKE_PACKAGE_REGISTRY)
message(STATUS "consumer: rcgc ${rcgc_VERSION} from ${rcgc_DIR}")

add_executable(consumer_shared consumer.c)
target_link_libraries(consumer_shared PRIVATE rcgc::rcgc)
add_executable(consumer_static consumer.c)
target_link_libraries(consumer_static PRIVATE rcgc::rcgc_static)
