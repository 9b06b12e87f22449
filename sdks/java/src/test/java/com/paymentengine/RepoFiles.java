package com.paymentengine;

import com.paymentengine.internal.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Files of the repository the tests read: the OpenAPI contract, the shared webhook vectors, the guide. */
final class RepoFiles {
    static final int PARENTS_MAX = 12;

    private RepoFiles() {}

    /** {@code -Dpe.repoRoot}, else the nearest folder above the working directory holding the OpenAPI contract. */
    static Path root() {
        String configured = System.getProperty("pe.repoRoot", System.getenv("PE_REPO_ROOT"));
        if (configured != null && !configured.isEmpty()) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        for (int i = 0; i < PARENTS_MAX && dir != null; i++, dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("gateway/openapi/openapi.json"))) {
                return dir;
            }
        }
        throw new IllegalStateException("cannot find the repository root: set -Dpe.repoRoot");
    }

    /** {@code -Dpe.guide}, else {@code <repo>/../shared/seed/payment-engine-integration-guide.md}. */
    static Path guide() {
        String configured = System.getProperty("pe.guide", System.getenv("PE_GUIDE"));
        if (configured != null && !configured.isEmpty()) {
            return Path.of(configured);
        }
        return root().resolve("../shared/seed/payment-engine-integration-guide.md").normalize();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(String relativePath) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readAllBytes(root().resolve(relativePath)));
    }
}
