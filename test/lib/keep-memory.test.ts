import { keepSuite } from './keep-suite.js'
import { memory } from '../helpers/stores.js'

keepSuite(memory)
