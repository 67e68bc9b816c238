package dev.asyncdiff.tck;

import dev.asyncdiff.api.RequestKind;
import java.util.List;

/**
 * One kind of generation the kit compares strategies on, and the asynchronous schedules it tries.
 *
 * @param name      how reports name it, e.g. {@code text-to-image} or {@code batch-2}
 * @param kind      the request kind
 * @param images    images per request (the batch)
 * @param sampler   the sampler name, or null for the model's own
 * @param schedules the (N, stride) pairs tried
 */
record Variant(String name, RequestKind kind, int images, String sampler, List<Schedule> schedules) {
    /** An asynchronous schedule: {@code n} components, stride 1 or 2. */
    record Schedule(int n, int stride) {
        String key() {
            return Tolerances.key(n, stride);
        }
    }

    Variant {
        schedules = List.copyOf(schedules);
    }

    /** Every N from 2 to {@code maxN} at strides 1 and 2. */
    static List<Schedule> all(int maxN) {
        List<Schedule> all = new java.util.ArrayList<>();
        for (int stride = 1; stride <= 2; stride++) {
            for (int n = 2; n <= maxN; n++) {
                all.add(new Schedule(n, stride));
            }
        }
        return all;
    }
}
