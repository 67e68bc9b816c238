package dev.asyncdiff.tck;

import dev.asyncdiff.api.AddOn;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The compatibility kit as JUnit 5 tests. Extend it in your adapter's tests, name your adapter and a
 * model folder (and, optionally, tolerances), and every {@link Check} becomes a dynamic test:
 *
 * <pre>{@code
 * class MyAdapterCompatibilityTest extends AdapterVerification {
 *     protected String adapterName() { return "my-adapter"; }
 *     protected Path modelFolder()   { return Path.of("build/models/tiny"); }
 *     protected Tolerances tolerances() { return Tolerances.TRAINED_FP16; }
 * }
 * }</pre>
 *
 * <p>A failed check fails its test with a message that says what diverged and by how much; a
 * skipped one is reported as aborted.
 */
public abstract class AdapterVerification {
    /** The adapter provider's name, as registered with {@link java.util.ServiceLoader}. */
    protected abstract String adapterName();

    /** A model folder the adapter opens; small models keep the kit fast. */
    protected abstract Path modelFolder();

    /**
     * The tolerances to hold the adapter to; by default those for random-weight test models. Trained models
     * pass {@link Tolerances#TRAINED_FP16} or stricter, e.g. with {@link Tolerances#withImageBounds}.
     */
    protected Tolerances tolerances() {
        return Tolerances.RANDOM_WEIGHTS;
    }

    /** Denoising steps per generation: enough for asynchronous errors to settle below the known-bad reference. */
    protected int steps() {
        return 12;
    }

    /** Image width and height in pixels; 0 for the model's default. */
    protected int imageSize() {
        return 64;
    }

    /** The backend provider that runs the models. */
    protected String backendName() {
        return "onnx";
    }

    /** The guidance scale of the kit's generations; 1 for models without guidance. */
    protected double guidance() {
        return CompatibilityKit.DEFAULT_GUIDANCE;
    }

    /** A stochastic sampler tried with a fixed seed, or null for none. */
    protected String stochasticSampler() {
        return CompatibilityKit.DEFAULT_STOCHASTIC_SAMPLER;
    }

    /** Models opened with the folder (ControlNets …); none by default. */
    protected List<AddOn> addOns() {
        return List.of();
    }

    @TestFactory
    Stream<DynamicTest> compatibilityKit() {
        CompatibilityKit kit = CompatibilityKit.create(new CompatibilityKit.Subject(adapterName(), modelFolder(),
                tolerances(), steps(), imageSize(), backendName(), guidance(), stochasticSampler(), addOns()));
        return Stream.of(Check.values()).map(check -> DynamicTest.dynamicTest(check.id(), () -> {
            CheckResult result = kit.run(check);
            switch (result.status()) {
                case FAILED -> throw new AssertionError(check.id() + " failed for adapter '" + kit.adapterName()
                        + "': " + result.message() + " (figures: " + result.figures() + ")");
                case SKIPPED -> Assumptions.abort(check.id() + " skipped: " + result.message());
                case PASSED -> { }
            }
        }));
    }
}
