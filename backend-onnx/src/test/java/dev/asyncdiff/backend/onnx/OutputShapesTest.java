package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.DeclaredTensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputShapesTest {
    private static DeclaredTensor declared(String name, long[] shape, String... dimensionNames) {
        return new DeclaredTensor(new TensorSpec(name, DType.FP32, shape), List.of(dimensionNames));
    }

    private final DeclaredTensor sample = declared("sample", new long[] {-1, 4, -1, -1}, "batch", "", "h", "w");
    private final DeclaredTensor hidden = declared("hidden", new long[] {-1, 77}, "batch", "");
    private final DeclaredTensor out = declared("out", new long[] {-1, 4, -1, -1}, "batch", "", "h", "w");
    private final DeclaredTensor pooled = declared("pooled", new long[] {-1, 8}, "unk__1", "");
    private final DeclaredTensor fixed = declared("fixed", new long[] {3, 5}, "", "");

    private final OutputShapes shapes = new OutputShapes(List.of(sample, hidden), List.of(out, pooled, fixed));
    private final Map<String, long[]> inputShapes = Map.of("sample", new long[] {2, 4, 8, 6}, "hidden",
            new long[] {2, 77});

    @Test
    void fixedAndNamedDimensionsArePredictedOthersNot() {
        Map<String, long[]> predicted = shapes.predict(inputShapes);
        assertThat(predicted).containsOnlyKeys("out", "fixed");
        assertThat(predicted.get("out")).containsExactly(2, 4, 8, 6);
        assertThat(predicted.get("fixed")).containsExactly(3, 5);
    }

    @Test
    void aNameBoundToTwoSizesIsNotUsed() {
        Map<String, long[]> conflicting = Map.of("sample", new long[] {2, 4, 8, 6}, "hidden", new long[] {3, 77});
        assertThat(shapes.predict(conflicting)).containsOnlyKeys("fixed");
    }

    @Test
    void learnedShapesAreReusedForTheSameInputShapesUntilForgotten() {
        shapes.learn(inputShapes, Map.of("out", new long[] {2, 4, 8, 6}, "pooled", new long[] {2, 8},
                "fixed", new long[] {3, 5}));
        assertThat(shapes.predict(inputShapes).get("pooled")).containsExactly(2, 8);
        Map<String, long[]> other = Map.of("sample", new long[] {1, 4, 8, 6}, "hidden", new long[] {1, 77});
        assertThat(shapes.predict(other)).doesNotContainKey("pooled");
        shapes.forget(inputShapes);
        assertThat(shapes.predict(inputShapes)).doesNotContainKey("pooled");
    }

    @Test
    void predictionsAreCopies() {
        shapes.predict(inputShapes).get("fixed")[0] = 99;
        assertThat(shapes.predict(inputShapes).get("fixed")).containsExactly(3, 5);
    }
}
