"""Running out of memory is an infrastructure error (exit 3, one line on
stderr), never std::terminate's abort."""
import os
import resource
import subprocess
import unittest

from support import RELAY, SLOW, RelayTestCase, main

# Enough address space for relay to start and do ordinary work (it
# validates under half of it), far too little for a plan of a million
# instances (~365 MB of RSS in a debug build).
LIMIT = 64 << 20


def limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


@unittest.skipIf(os.environ.get("RELAY_SANITIZED"),
                 "sanitizers reserve terabytes of address space up front")
class OutOfMemoryTest(RelayTestCase):
    def relay_limited(self, *args):
        return subprocess.run([RELAY, *args], cwd=self.dir, env=self.env(),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=300 * SLOW,
                              preexec_fn=limit_address_space)

    def test_a_plan_too_big_for_memory_exits_3_with_a_message(self):
        # A small file that is valid (a million instances is the most a run
        # may have) but needs far more memory to expand than the limit gives.
        axis = "[" + ", ".join(str(i) for i in range(1000)) + "]"
        self.write("p.yaml", f"""
            tasks:
              t:
                matrix: {{ a: {axis}, b: {axis} }}
                run: echo ${{{{ matrix.a }}}}
            """)
        # Under the same limit relay works: the limit is not what fails it.
        p = self.relay_limited("validate", "p.yaml")
        self.assertEqual(p.returncode, 0, p.stderr)

        p = self.relay_limited("plan", "p.yaml")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, r"^relay: out of memory: .+\n$")
        self.assertNotIn("terminate", p.stderr)


if __name__ == "__main__":
    main()
