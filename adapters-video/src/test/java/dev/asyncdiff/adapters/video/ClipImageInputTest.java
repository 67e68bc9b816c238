package dev.asyncdiff.adapters.video;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * SVD's antialiased resize against diffusers' own {@code _resize_with_antialiasing}, run by torch on the same inputs
 * ({@code reference/make_reference.py}): downscaling by 4 and 5.3 (Gaussian windows of 7 and 9 taps), by 2.5 and 1.9,
 * and upscaling (no blur).
 */
class ClipImageInputTest {
    @Test
    void resizeMatchesDiffusers() throws IOException {
        JsonNode cases;
        try (InputStream in = getClass().getResourceAsStream("/reference/antialiased-resize.json")) {
            cases = new ObjectMapper().readTree(in).get("cases");
        }
        assertThat(cases).hasSize(3);
        for (JsonNode c : cases) {
            int height = c.get("height").asInt();
            int width = c.get("width").asInt();
            int outH = c.get("outHeight").asInt();
            int outW = c.get("outWidth").asInt();
            float[] out = ClipImageInput.resizeWithAntialiasing(pattern(height, width), 3, height, width, outH, outW);
            JsonNode expected = c.get("output");
            assertThat(out).hasSize(expected.size());
            double worst = 0;
            for (int i = 0; i < out.length; i++) {
                worst = Math.max(worst, Math.abs(out[i] - expected.get(i).asDouble()));
            }
            assertThat(worst).as("%dx%d to %dx%d", height, width, outH, outW).isLessThan(2e-6);
        }
    }

    @Test
    void pixelValuesAreNormalisedFromUnitRange() {
        float[] grey = new float[3 * 8 * 8];  // 0 in [-1, 1] is 0.5 in [0, 1]
        double[] mean = {0.5, 0.25, 0.0};
        double[] std = {1.0, 0.5, 0.25};
        float[] out = ClipImageInput.pixelValues(grey, 8, 8, 4, mean, std);
        assertThat(out).hasSize(3 * 16);
        assertThat(out[0]).isEqualTo(0f);
        assertThat(out[16]).isEqualTo(0.5f);
        assertThat(out[32]).isEqualTo(2f);
    }

    /** The script's pattern, computed in double and rounded to float as torch.tensor(values, float32) does. */
    private static float[] pattern(int height, int width) {
        float[] values = new float[3 * height * width];
        int i = 0;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    values[i++] = (float) (Math.sin(0.37 * c + 0.11 * y * y + 0.23 * x) * Math.cos(0.05 * x * y + c));
                }
            }
        }
        return values;
    }
}
