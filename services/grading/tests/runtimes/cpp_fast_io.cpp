// iostream with sync off and cin untied, large vectors, sort, unordered_map, exceptions.
#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

int main() {
    std::ios::sync_with_stdio(false);
    std::cin.tie(nullptr);
    long long a, b;
    std::cin >> a >> b;
    std::vector<int> big(20'000'000);  // 80 MB: mmap'ed, touched, freed
    for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<int>(big.size() - i);
    std::sort(big.begin(), big.begin() + 1'000'000);
    std::unordered_map<long long, std::string> names;
    for (int i = 0; i < 100'000; i++) names[i] = std::to_string(i);
    long long fix = 0;
    try {
        throw std::runtime_error(names[42]);
    } catch (const std::exception &e) {
        fix = std::stoll(e.what()) - 42;
    }
    big.clear();
    big.shrink_to_fit();
    std::cout << a + b + fix << '\n';
    return 0;
}
