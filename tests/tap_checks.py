"""TAP output for the suites that drive the `convnet` command (fetch.py,
cli_train.py): check() prints one numbered line a check, with the detail
of a failure; passed() says whether every check so far passed."""

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(f"{'ok' if condition else 'not ok'} {len(results)} - {name}"
          + ("" if condition else f"\n# {detail}"), flush=True)


def passed():
    return all(results)
