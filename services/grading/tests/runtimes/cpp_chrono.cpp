// <chrono> clocks, sleep_for, <random> (random_device, mt19937), <ctime>.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <thread>

int main() {
    auto start = std::chrono::steady_clock::now();
    auto wall = std::chrono::system_clock::now().time_since_epoch().count();
    auto high = std::chrono::high_resolution_clock::now().time_since_epoch().count();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::this_thread::yield();
    std::random_device device;
    std::mt19937_64 rng(device() ^ static_cast<unsigned long long>(wall) ^ static_cast<unsigned long long>(high));
    (void)rng();
    std::clock_t cpu = std::clock();  // CLOCK_PROCESS_CPUTIME_ID: a syscall, not the vDSO
    timespec nap{0, 1000000};
    bool wrong = nanosleep(&nap, nullptr) != 0 || cpu == static_cast<std::clock_t>(-1) ||
                 std::thread::hardware_concurrency() == 0;
    std::time_t now = std::time(nullptr);
    char stamp[64];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d", std::localtime(&now));
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    long long a, b;
    if (std::scanf("%lld %lld", &a, &b) != 2) return 1;
    std::printf("%lld\n", a + b + (elapsed.count() < 0) + (stamp[0] == 0) + 1000 * wrong);
}
