"""Fixed-seed RelaxedDRPM samples and gradients, recorded before the sort changes.

The expected values were recorded with the code of main at 579fb3c (before
`stable_sort_indices` replaced the XLA sorts at n <= 256): for each case the
subset of every element of `RelaxedDRPM(...).sample(seed=[7, n])` (one digit
per element) and the gradient of `sum(sample * target)` w.r.t. the
log-weights (rounded to 6 decimals). Eager execution; the partitions must be
equal, the gradients equal to rounding.
"""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.distributions import RelaxedDRPM

# (n, K, batch, dtype): (subset of each element per batch member, d loss / d log_weights)
RECORDED = {
    (10, 2, 4, "float32"): (
        ['0011110111', '0011000100', '0100110111', '0010101000'],
        [[-1.543696, 1.543696], [0.343047, -0.343047], [0.434061, -0.434061], [-0.000132, 0.000132]]),
    (10, 2, 4, "float64"): (
        ['0111011110', '1110100101', '1111011100', '0011000001'],
        [[0.00418, -0.00418], [-0.323102, 0.323102], [0.861826, -0.861826], [0.00157, -0.00157]]),
    (50, 2, 3, "float32"): (
        ['10100101100101101100110011010000100010100000110110', '01001000011111011110100100001111101111011111101000', '10100110101110110000111111100000010100010001000001'],
        [[-1.326929, 1.326929], [0.669047, -0.669047], [-3.397719, 3.397719]]),
    (50, 2, 3, "float64"): (
        ['10000100001011001000000010000000110010100100000000', '00111000011110101101110111101100001011010110011011', '01101101011111110111111111111111110101010010010011'],
        [[-0.02761, 0.02761], [0.23484, -0.23484], [0.326446, -0.326446]]),
    (64, 10, 2, "float32"): (
        ['2005784255585780645528989675995224259847284472884917447254594712', '2570136001170272102306211801005117312021820013111916321600525369'],
        [[1.540597, 0.208252, 9.828876, 10.006176, -2.819602, -2.354408, 5.233537, -9.183513, -3.992973, -8.466943], [-0.534355, -2.843115, -0.608877, -0.141178, 0.153619, 0.175737, 1.619052, -0.445018, 0.573538, 2.050598]]),
    (64, 10, 2, "float64"): (
        ['3366934477379572439594243922281612232964477749345457942699290539', '1700159710303576771176753181016550260761951030805075093175107035'],
        [[0.499263, 0.243122, -2.424179, -0.762303, 2.004137, 0.148979, 0.283331, 0.000464, -0.500572, 0.507759], [0.062862, -0.739399, -7.018852, 0.950727, -0.205157, 1.282289, 1.379034, 2.74748, 1.13751, 0.403506]]),
    (300, 4, 1, "float32"): (
        ['331030313332333131333110331333333111322332311303331313331131131333132111301301231313300030303333333000303333131331313333333131031131313003013303003003033033310330110331330313303103111313301313331311011013331011310130133003321033333333113111323333133203013331000302003131331313333311333310130100100031'],
        [[13.789736, 24.556122, -3.739443, -34.606415]]),
    (300, 4, 1, "float64"): (
        ['130210220222223201222102332232122312133222002022302122222223212222212231312022320122203223123022332202202220303102332100021203231030222223222201221222021032212102200002222223223012123221101012212220220202230202221102220201320122112032022032120122322021203321120022221212200232312232321221323120330222'],
        [[-25.298351, -123.284842, 93.387166, 55.196027]]),
}


class FixedSeedSamplesTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(*RECORDED)
    def test_same_partitions_and_gradients_as_recorded(self, n, num_subsets, batch, dtype):
        dtype = tf.as_dtype(dtype)
        log_weights = tf.Variable(tf.random.stateless_normal([batch, num_subsets], [1, n], dtype=dtype))
        log_scores = tf.Variable(tf.random.stateless_normal([batch, n], [3, n], dtype=dtype))
        target = tf.random.stateless_normal([batch, num_subsets, n], [5, 6], dtype=dtype)
        with tf.GradientTape() as tape:
            sample = RelaxedDRPM(log_weights, log_scores, tf.constant(0.5, dtype)).sample(
                seed=[7, n])
            loss = tf.reduce_sum(sample * target)
        gradient = tape.gradient(loss, log_weights)
        blocks, expected_gradient = RECORDED[(n, num_subsets, batch, dtype.name)]
        self.assertEqual(["".join(map(str, row)) for row in np.argmax(sample, axis=-2)], blocks)
        self.assertAllClose(gradient, expected_gradient, atol=2e-6, rtol=1e-5)


if __name__ == "__main__":
    tf.test.main()
