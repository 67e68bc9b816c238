package dev.asyncdiff.adapters.video;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.VideoOptions;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.synthetic.Family;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AnimateDiff over the real SD 1.5 export of {@code ../shared/data/real-exports} (torch's CLIP text encoder with int64
 * ids and {@code hidden_states.N} outputs, Optimum's VAE with {@code latent_parameters}): its text encoder, tokenizer
 * and VAE with the synthetic tiny motion UNet, whose cross-attention width (32) is the export's. Skipped where
 * {@code ../shared} is absent.
 */
class RealExportAnimateDiffTest {
    @TempDir
    Path temp;

    @Test
    void theRealExportsEncodersAndVaeDriveAClip() throws IOException {
        String shared = System.getProperty("asyncdiff.shared.dir", "../shared");
        Path real = Path.of(shared, "data", "real-exports", "sd15");
        Assumptions.assumeTrue(Files.isRegularFile(real.resolve("model_index.json")), "no real export at " + real
                + " (../shared is absent in a user's clone); skipping");
        Path folder = temp.resolve("animatediff-real");
        Path synthetic = VideoFixtures.folder(Family.ANIMATEDIFF);
        for (String component : List.of("text_encoder", "tokenizer", "vae_encoder", "vae_decoder")) {
            copyTree(real.resolve(component), folder.resolve(component));
        }
        for (String component : List.of("unet", "motion_adapter", "scheduler")) {
            copyTree(synthetic.resolve(component), folder.resolve(component));
        }
        Files.copy(synthetic.resolve("model_index.json"), folder.resolve("model_index.json"));

        Engine engine = VideoFixtures.engine(2, temp.resolve("cache"));
        try (DiffusionPipeline pipeline = engine.open(folder)) {
            float[] boat = latents(pipeline, "a boat on a lake");
            float[] city = latents(pipeline, "a city at night");
            assertThat(boat).doesNotContain(Float.NaN).isNotEqualTo(city);
            pipeline.setAsyncConfig(new AsyncConfig(2, 1, 1, false));
            float[] async = latents(pipeline, "a boat on a lake");
            assertThat(async).doesNotContain(Float.NaN).isNotEqualTo(boat);
            assertThat(AnimateDiffPipelineTest.relativeL2(async, boat)).isLessThan(
                    AnimateDiffPipelineTest.relativeL2(city, boat));
        }
    }

    private static float[] latents(DiffusionPipeline pipeline, String prompt) {
        try (PipelineOutput out = pipeline.run(GenerationRequest.builder(prompt).steps(6).seed(2).size(64, 64)
                .textToVideo(VideoOptions.DEFAULT.withFrames(3)).build())) {
            assertThat(out.pixels().shape()).containsExactly(3, 3, 64, 64);
            return out.latents().toFloatArray();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
