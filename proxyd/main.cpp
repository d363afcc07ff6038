// proxyd entry point (skeleton).
int main() { return 0; }
