package dev.asyncdiff.backend.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Profiles of real split components of a synthetic SD 1.5 UNet, derived without a GPU. */
class OptimizationProfileTest {
    private static final int LATENT = 32;

    @TempDir
    static Path dir;

    private static SplitResult split;

    @BeforeAll
    static void split() {
        Path folder = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                dir.resolve("sd15")).directory();
        split = new GraphSplitter(dir.resolve("cache")).split(folder, 2, LATENT, LATENT, dir.resolve("split"),
                ExternalDataPolicy.AUTO, SplitOptions.defaults());
    }

    @Test
    void thePlannedSizeFixesEveryAxisButTheBatch() {
        for (SplitManifest.Component component : split.manifest().components()) {
            Path file = dir.resolve("split").resolve(component.file());
            OptimizationProfile profile = ComponentProfiles.of(file, ProfileRequest.PLANNED);
            assertThat(profile.inputs()).extracting(OptimizationProfile.Input::name)
                    .containsExactlyElementsOf(component.inputs().stream().map(SplitManifest.Tensor::name).toList());
            for (OptimizationProfile.Input input : profile.inputs()) {
                SplitManifest.Tensor planned = component.inputs().stream()
                        .filter(t -> t.name().equals(input.name())).findFirst().orElseThrow();
                assertThat(input.min()).as(input.name()).containsExactly(planned.shape());
                if (planned.shape().length > 0 && contains(planned.dynamicAxes(), 0)) {
                    assertThat(input.max()[0]).as(input.name()).isEqualTo(2);
                    long[] rest = input.max().clone();
                    rest[0] = 1;
                    assertThat(rest).containsExactly(planned.shape());
                } else {
                    assertThat(input.fixed()).as(input.name()).isTrue();
                }
            }
        }
    }

    @Test
    void aSizeRangeScalesImageAxesByTheirRatioAndLeavesTheTextLengthAlone() {
        SplitManifest.Component second = split.manifest().components().get(1);
        OptimizationProfile profile = ComponentProfiles.of(dir.resolve("split").resolve(second.file()),
                ProfileRequest.parse("128:512", 2, 4));
        OptimizationProfile.Input sample = input(profile, "sample");
        assertThat(sample.min()).containsExactly(1, 4, 16, 16);
        assertThat(sample.opt()).containsExactly(2, 4, 16, 16);
        assertThat(sample.max()).containsExactly(4, 4, 64, 64);
        OptimizationProfile.Input text = input(profile, "encoder_hidden_states");
        assertThat(text.min()[1]).isEqualTo(text.max()[1]).isEqualTo(77);
        SplitManifest.Tensor crossing = second.inputs().stream().filter(t -> t.from() != null && t.shape().length == 4)
                .findFirst().orElseThrow();
        long ratio = LATENT / crossing.shape()[2];
        assertThat(input(profile, crossing.name()).max()[2]).isEqualTo(64 / ratio);
        assertThat(input(profile, crossing.name()).min()[3]).isEqualTo(16 / ratio);
    }

    @Test
    void anImageAxisThatWouldNotBeWholeIsAClearError() {
        SplitManifest.Tensor quarter = new SplitManifest.Tensor("skip", "fp32", new long[] {1, 64, 8, 8},
                new int[] {0, 2, 3}, 0, 0, null, null);
        assertThatThrownBy(() -> OptimizationProfile.of(List.of(quarter), 32, 32, ProfileRequest.parse("136:512", 2, 2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("input 'skip' axis 2 is 8 at 32x32 latents")
                .hasMessageContaining("multiples of the component's downsampling");
    }

    @Test
    void aWholeModelMayLeaveOnlyTheBatchDynamic() {
        Path unet = dir.resolve("sd15").resolve("unet").resolve("model.onnx");
        assertThatThrownBy(() -> ComponentProfiles.of(unet, ProfileRequest.PLANNED))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("input 'sample'")
                .hasMessageContaining("split the model");
    }

    /** TensorRT 11 builds an engine in the precision of its ONNX: an fp16 model must split into fp16 components. */
    @Test
    void anFp16ModelSplitsIntoFp16Components() {
        Path folder = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP16, 3, TokenizerKind.BPE,
                dir.resolve("sd15-fp16")).directory();
        SplitResult half = new GraphSplitter(dir.resolve("cache")).split(folder, 2, LATENT, LATENT,
                dir.resolve("split-fp16"), ExternalDataPolicy.AUTO, SplitOptions.defaults());
        for (SplitManifest.Component component : half.manifest().components()) {
            assertThat(component.inputs()).filteredOn(t -> !t.name().equals("timestep"))
                    .extracting(SplitManifest.Tensor::dtype).containsOnly("fp16");
            var model = dev.asyncdiff.onnx.graph.OnnxModel.load(dir.resolve("split-fp16").resolve(component.file()));
            assertThat(model.initializers()).filteredOn(i -> i.dtype().isFloatingPoint())
                    .extracting(dev.asyncdiff.onnx.graph.Initializer::dtype).isNotEmpty().containsOnly(DType.FP16);
        }
    }

    /**
     * The real Optimum export declares the channel axis of {@code sample} and the text length dynamic and the
     * timestep an int64 {@code [batch]}: the profile still fixes every axis but the batch and the image.
     */
    @Test
    void aRealExportsComponentsGetTrueShapes() {
        Path unet = Path.of(System.getProperty("asyncdiff.shared.dir", "../shared"), "data", "real-exports", "sd15");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(unet), "no real export at " + unet
                + " (../shared is absent in a user's clone); skipping");
        SplitResult real = new GraphSplitter(dir.resolve("cache")).split(unet, 2, LATENT, LATENT,
                dir.resolve("split-real"), ExternalDataPolicy.AUTO, SplitOptions.defaults().withInputShapes(
                        java.util.Map.of("sample", new long[] {1, 4, LATENT, LATENT},
                                "encoder_hidden_states", new long[] {1, 77, 32})));
        for (SplitManifest.Component component : real.manifest().components()) {
            OptimizationProfile profile = ComponentProfiles.of(dir.resolve("split-real").resolve(component.file()),
                    ProfileRequest.parse("256:512", 2, 2));
            assertThat(input(profile, "sample").min()).containsExactly(1, 4, 32, 32);
            assertThat(input(profile, "sample").max()).containsExactly(2, 4, 64, 64);
            assertThat(input(profile, "encoder_hidden_states").max()).containsExactly(2, 77, 32);
            assertThat(input(profile, "timestep").min()).containsExactly(1);
            assertThat(input(profile, "timestep").max()).containsExactly(2);
        }
    }

    private static OptimizationProfile.Input input(OptimizationProfile profile, String name) {
        return profile.inputs().stream().filter(i -> i.name().equals(name)).findFirst().orElseThrow();
    }

    private static boolean contains(int[] values, int value) {
        if (values == null) {
            return false;
        }
        for (int v : values) {
            if (v == value) {
                return true;
            }
        }
        return false;
    }
}
