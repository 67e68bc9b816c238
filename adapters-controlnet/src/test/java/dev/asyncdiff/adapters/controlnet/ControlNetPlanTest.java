package dev.asyncdiff.adapters.controlnet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The merged graph's plans for N = 2..4: the largest component computes well under the whole ControlNet on top of
 * an even UNet share, the critical path of every device running the ControlNet (the original AsyncDiff's).
 */
class ControlNetPlanTest {
    @TempDir
    Path cache;

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SDXL"})
    void theControlNetsCostIsSpreadOverTheComponents(Family family) {
        PipelineContext context = ControlNetFixtures.engine(1, cache).context();
        ModelFolder base = ModelFolder.open(ControlNetFixtures.base(family, false));
        int size = 256;
        int latent = size / base.vaeScaleFactor();
        try (ControlNets nets = ControlNets.open(base, List.of(ControlNetFixtures.controlNet(family, 7)),
                ControlNets.Placement.MERGED, context)) {
            Map<String, long[]> shapes = new LinkedHashMap<>(base.denoiserInputShapes(latent, latent));
            shapes.putAll(nets.inputShapes(size, size));
            GraphSplitter splitter = new GraphSplitter(cache.resolve("splits"));
            SplitOptions options = SplitOptions.defaults().withInputShapes(shapes);
            double unet = gflops(splitter.split(base.modelFile("unet"), 1, latent, latent, null,
                    ExternalDataPolicy.AUTO, options));
            double controlNet = gflops(splitter.split(nets.denoiser(), 1, latent, latent, null,
                    ExternalDataPolicy.AUTO, options)) - unet;
            assertThat(controlNet).as("the ControlNet's GFLOPs").isGreaterThan(0.2 * unet);
            for (int parts = 2; parts <= 4; parts++) {
                SplitResult split = splitter.split(nets.denoiser(), parts, latent, latent, null,
                        ExternalDataPolicy.AUTO, options);
                double largest = split.manifest().components().stream().mapToDouble(SplitManifest.Component::gflops)
                        .max().orElseThrow();
                // every device running the whole ControlNet and an even UNet share: the original's critical path
                double whole = controlNet + unet / parts;
                assertThat(largest).as("largest component at N=" + parts + " against the ControlNet whole on top of"
                        + " 1/N of the UNet").isLessThan(0.85 * whole);
            }
        } finally {
            context.close();
        }
    }

    private static double gflops(SplitResult split) {
        return split.manifest().components().stream().mapToDouble(SplitManifest.Component::gflops).sum();
    }
}
